import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserSession } from '../test-support/browser-session.js';
import { PASSWORD, startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * `returnTo` after logging in: only a same-origin path. A browser reading a `Location` header drops
 * tabs and newlines and reads `\` as `/`, so each answer is resolved here as a browser resolves it
 * (WHATWG URL) against the site's origin, and must stay on the site — or go to the home page.
 */
const SITE = 'https://video-tutorials.example';

/** Values as the server receives them (after the query or form is decoded). */
const BYPASSES = [
  '//evil.example',
  '///evil.example',
  '////evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  '/\\/evil.example',
  '\\/evil.example',
  '/\t/evil.example',
  '/\n/evil.example',
  '/\r\n/evil.example',
  '/\r/evil.example',
  '/\0/evil.example',
  '/\x0b/evil.example',
  '/\x7f/evil.example',
  '/ /evil.example',
  ' //evil.example',
  '\t//evil.example',
  '/.//evil.example',
  '/..//evil.example',
  '/%2e%2e//evil.example',
  '/./\\evil.example',
  '/\u3000/evil.example',
  '/\u2028/evil.example',
  '/\ufeff/evil.example',
  '/\u00a0/evil.example',
  '/\uff0f/evil.example',
  'https://evil.example',
  'HTTPS://evil.example',
  'http:evil.example',
  'http:/evil.example',
  'https:\\\\evil.example',
  '//evil.example@video-tutorials.example',
  'javascript:alert(1)',
  'JaVaScRiPt:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'evil.example',
  '',
  `/${'a'.repeat(5000)}`,
];
/** As an attacker writes them in a link: the issue's own example among them. */
const RAW_QUERIES = [
  '/%09/evil.example',
  '/%0d%0a/evil.example',
  '/%00/evil.example',
  '%2F%2Fevil.example',
  '/%5Cevil.example',
];

function leavesTheSite(location: string): boolean {
  const control = [...location].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
  if (control || location.includes('\\') || location.startsWith('//')) return true;
  return new URL(location, SITE).origin !== SITE;
}

let web: WebUnderAttack;
let email: string;
beforeAll(async () => {
  web = await startWebUnderAttack();
  ({ email } = await web.addUser());
});
afterAll(async () => {
  await web?.close();
});

let address = 0;
/** Each attempt from its own address: the log-in rate limit is not what is tested here. */
const newBrowser = () => browserSession(web.app, { remoteAddress: `10.9.${address >> 8}.${address++ & 255}` });

describe('returnTo', () => {
  it.each(BYPASSES.map((value) => [JSON.stringify(value).slice(0, 60), value]))(
    'after log-in %s stays on the site',
    async (_label, returnTo) => {
      const browser = newBrowser();
      const form = await browser.get(`/auth/log-in?returnTo=${encodeURIComponent(returnTo)}`);
      // A NUL character is no text at all: refused as such (invalid-text.test.ts), which redirects nowhere.
      if (returnTo.includes('\0')) {
        expect(form.statusCode).toBe(400);
        expect((await browser.post('/auth/log-in', { email, password: PASSWORD, returnTo })).statusCode).toBe(400);
        return;
      }
      expect(form.statusCode).toBe(200);
      const offered = /name="returnTo" value="([^"]*)"/.exec(form.body)?.[1] ?? '';
      expect(leavesTheSite(offered.replaceAll('&amp;', '&'))).toBe(false);
      const response = await browser.post('/auth/log-in', { email, password: PASSWORD, returnTo });
      expect(response.statusCode).toBe(303);
      const location = String(response.headers.location);
      expect({ location, leaves: leavesTheSite(location) }).toEqual({ location, leaves: false });
    },
  );

  it.each(RAW_QUERIES)('in a link, %s, gives a form that stays on the site', async (query) => {
    const browser = newBrowser();
    const form = await browser.get(`/auth/log-in?returnTo=${query}`);
    if (query.includes('%00')) return expect(form.statusCode).toBe(400);
    expect(form.statusCode).toBe(200);
    const offered = (/name="returnTo" value="([^"]*)"/.exec(form.body)?.[1] ?? '').replaceAll('&amp;', '&');
    expect({ offered, leaves: leavesTheSite(offered) }).toEqual({ offered, leaves: false });
    const response = await browser.post('/auth/log-in', { email, password: PASSWORD });
    expect(leavesTheSite(String(response.headers.location))).toBe(false);
  });

  it('keeps a genuine path on this site, query included, and round-trips a guarded page', async () => {
    const browser = newBrowser();
    await browser.get('/auth/log-in');
    const kept = await browser.post('/auth/log-in', {
      email,
      password: PASSWORD,
      returnTo: '/creators-portal/videos/5f1c0a52-6a38-4c4e-9d7e-0c1f4e9b2a11?uploaded=1#top',
    });
    expect(kept.headers.location).toBe('/creators-portal/videos/5f1c0a52-6a38-4c4e-9d7e-0c1f4e9b2a11?uploaded=1#top');

    const anonymous = newBrowser();
    const refused = await anonymous.get('/creators-portal');
    expect(refused.statusCode).toBe(302);
    await anonymous.get(String(refused.headers.location));
    const back = await anonymous.post('/auth/log-in', { email, password: PASSWORD });
    expect(back.headers.location).toBe('/creators-portal');
  });
});
