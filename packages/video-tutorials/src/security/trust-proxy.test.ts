import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * `X-Forwarded-For` is believed only from proxies `TRUST_PROXY` names (none by default): a client that
 * rotates it gets neither more log-in attempts than the rate limit allows nor its chosen address in the logs.
 */
const ATTEMPTS = 12; // the log-in limit is 10 a minute per client
const randomAddress = () => `203.0.${Math.floor(Math.random() * 255)}.${Math.floor(Math.random() * 255)}`;

const servers: WebUnderAttack[] = [];
afterAll(async () => {
  for (const server of servers) await server.close();
});

async function serverWith(env: NodeJS.ProcessEnv) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const web = await startWebUnderAttack(env, (options) => ({ ...options, logger: { level: 'info', stream } }));
  servers.push(web);
  return { web, lines };
}

/** Wrong-password attempts from one socket address with the given forwarded header each time; their statuses. */
async function attempts(web: WebUnderAttack, remoteAddress: string, forwardedFor: () => string) {
  // An address nobody has: each account has its own throttle, and this is about the client's address.
  const email = `nobody-${randomUUID().slice(0, 8)}@example.com`;
  const form = await web.app.inject({ url: '/auth/log-in', remoteAddress });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)![1]!;
  const cookie = form.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const statuses: number[] = [];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const response = await web.app.inject({
      method: 'POST',
      url: '/auth/log-in',
      remoteAddress,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie,
        'x-forwarded-for': forwardedFor(),
      },
      payload: new URLSearchParams({ _csrf: csrf, email, password: `wrong ${randomUUID()}` }).toString(),
    });
    statuses.push(response.statusCode);
  }
  return statuses;
}

describe('without TRUST_PROXY', () => {
  it('rate-limits by the socket address, however X-Forwarded-For rotates, and logs that address', async () => {
    const { web, lines } = await serverWith({});
    const statuses = await attempts(web, '10.20.30.40', randomAddress);
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    expect(statuses.slice(10)).toEqual([429, 429]);
    const logged = lines.filter((line) => line.includes('"remoteAddress"'));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged.every((line) => line.includes('"remoteAddress":"10.20.30.40"'))).toBe(true);
    expect(lines.some((line) => line.includes('203.0.'))).toBe(false);
  });
});

describe('TRUST_PROXY as a hop count', () => {
  it('believes only the address the proxy saw, not what the client put in front of it', async () => {
    const { web, lines } = await serverWith({ TRUST_PROXY: '1' });
    // The client forges the left of the header; the proxy appends the address it really saw.
    const statuses = await attempts(web, '10.0.0.5', () => `${randomAddress()}, 198.51.100.7`);
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect(lines.some((line) => line.includes('"remoteAddress":"198.51.100.7"'))).toBe(true);
    expect(lines.some((line) => line.includes('203.0.'))).toBe(false);
    // Two real clients behind the proxy are two clients.
    expect((await attempts(web, '10.0.0.5', () => '198.51.100.8')).slice(0, 10).every((s) => s === 401)).toBe(true);
  });
});

describe('TRUST_PROXY as addresses', () => {
  it('believes the header from a listed proxy only', async () => {
    const { web } = await serverWith({ TRUST_PROXY: '10.0.0.5' });
    // From somewhere else, the header is the client's own word: ignored.
    expect((await attempts(web, '10.0.0.6', randomAddress)).slice(10)).toEqual([429, 429]);
    // From the proxy, each forwarded client has its own limit.
    const proxied = await attempts(web, '10.0.0.5', randomAddress);
    expect(proxied.every((status) => status === 401)).toBe(true);
  });
});
