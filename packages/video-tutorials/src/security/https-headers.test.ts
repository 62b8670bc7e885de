import { afterAll, describe, expect, it } from 'vitest';
import { startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * Only production is reached over HTTPS alone: there the pages tell browsers to stay on HTTPS
 * (`upgrade-insecure-requests`, `Strict-Transport-Security`). Anywhere else — the LAN http address
 * start-up prints — they must not, or the browser asks an https:// that is not there for the styles.
 */
const servers: WebUnderAttack[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

async function headersIn(nodeEnv: 'production' | 'development' | 'test') {
  const web = await startWebUnderAttack({ NODE_ENV: nodeEnv });
  servers.push(web);
  const page = await web.app.inject({ url: '/' });
  expect(page.statusCode).toBe(200);
  const asset = await web.app.inject({ url: '/assets/site.css' });
  expect(asset.statusCode).toBe(200);
  const csrfCookie = page.cookies.find((cookie) => cookie.name === '_csrf');
  expect(csrfCookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' });
  return { headers: [page.headers, asset.headers], csrfCookie };
}

describe('HTTPS-only headers and cookies', () => {
  it('are sent in production', async () => {
    const { headers: responses, csrfCookie } = await headersIn('production');
    expect(csrfCookie?.secure).toBe(true);
    for (const headers of responses) {
      expect(headers['content-security-policy']).toContain('upgrade-insecure-requests');
      expect(headers['content-security-policy']).toContain("default-src 'self'");
      expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
    }
  });

  it.each(['development', 'test'] as const)('are not sent when NODE_ENV=%s', async (nodeEnv) => {
    const { headers: responses, csrfCookie } = await headersIn(nodeEnv);
    expect(csrfCookie?.secure).toBeFalsy();
    for (const headers of responses) {
      expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      // The rest of the policy stays.
      expect(headers['content-security-policy']).toContain("default-src 'self'");
      expect(headers['content-security-policy']).toContain("media-src 'self'");
      expect(headers).not.toHaveProperty('strict-transport-security');
    }
  });
});
