import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVALID_TEXT_MESSAGE } from '../web/text-input.js';
import { PASSWORD, startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * Text PostgreSQL cannot store — NUL, a lone surrogate, bytes that are not UTF-8 — is refused with a
 * 400 and a clear message before any handler runs, on every route Fastify has, in the query, the route
 * parameters and the body; nothing is written to the message store.
 */
let web: WebUnderAttack;
beforeAll(async () => {
  web = await startWebUnderAttack();
});
afterAll(async () => {
  await web?.close();
});

const concrete = (url: string) =>
  url.replace(/:(\w+)/g, (_m, name: string) =>
    name === 'streamName' ? 'identity-a' : '5f1c0a52-6a38-4c4e-9d7e-0c1f4e9b2a11',
  );

async function messagesWritten() {
  const [row] = await web.test.db.query<{ count: string | number }>(
    'SELECT count(*) AS count FROM message_store.messages',
  );
  return Number(row!.count);
}

function expectRefused(response: { statusCode: number; body: string }, what: string) {
  // A route with a small rate limit (the confirmation e-mail: 3 in 10 minutes) refuses before reading anything.
  if (response.statusCode === 429) return;
  expect({ what, status: response.statusCode }).toEqual({ what, status: 400 });
  expect(response.body).toContain('a character we cannot accept');
}

describe('a NUL character or invalid Unicode', () => {
  it('in the query, the parameters or the body of any route is a 400 that reaches no handler', async () => {
    const admin = await web.browser('admin');
    const written = await messagesWritten();
    const reachedBefore = web.reached.length;
    const routes = web.routes.filter((route) => route.method === 'GET' || route.method === 'POST');
    for (const route of routes) {
      const url = concrete(route.url).replace('*', 'site.css');
      expectRefused(await admin[route.method === 'GET' ? 'get' : 'post'](`${url}?search=a%00b`), `${url} query`);
      if (route.url.includes(':'))
        expectRefused(await admin.get(route.url.replace(/:\w+/, 'a%00b')), `${route.url} parameter`);
      if (route.method === 'POST') {
        expectRefused(
          await admin.post(url, { email: 'a\u0000@example.com', name: 'nul\u0000', password: PASSWORD }),
          `${url} form`,
        );
        const json = await web.app.inject({
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/json',
            cookie: admin.cookieHeader(),
            'x-csrf-token': admin.csrfToken,
          },
          payload: '{"name":"half a pair \\ud83d","email":"\\udc00@example.com"}',
        });
        expectRefused(json, `${url} JSON with lone surrogates`);
        const bytes = await web.app.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: admin.cookieHeader() },
          payload: Buffer.concat([Buffer.from(`_csrf=${admin.csrfToken}&name=`), Buffer.from([0xc3, 0x28, 0xff])]),
        });
        expectRefused(bytes, `${url} bytes that are not UTF-8`);
      }
    }
    expect(web.reached.slice(reachedBefore).filter((hit) => hit.url !== '/assets/*')).toEqual([]);
    expect(await messagesWritten()).toBe(written);
  });

  it('in the log-in e-mail, a video name and an admin filter: the cases that gave 500', async () => {
    const anonymous = await web.browser('anonymous');
    const logIn = await anonymous.post('/auth/log-in', { email: 'someone\u0000@example.com', password: PASSWORD });
    expectRefused(logIn, 'log-in e-mail');
    expect(logIn.body).toContain(INVALID_TEXT_MESSAGE.slice(0, 40));

    const owner = await web.browser('user');
    const { videoId } = await web.addVideo(owner.user!.userId);
    expectRefused(await owner.post(`/creators-portal/videos/${videoId}/name`, { name: 'My\u0000video' }), 'video name');
    // A surrogate encoded as UTF-8 bytes, as no browser sends it (URLSearchParams cannot even write it).
    const surrogate = await web.app.inject({
      method: 'POST',
      url: `/creators-portal/videos/${videoId}/describe`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: owner.cookieHeader() },
      payload: `_csrf=${encodeURIComponent(owner.csrfToken)}&description=%ED%A0%80`,
    });
    expectRefused(surrogate, 'description');

    const admin = await web.browser('admin');
    for (const url of [
      '/admin/messages?category=%00',
      '/admin/users?search=%00',
      '/admin/streams/a%00b',
      '/admin/traces/%00',
    ])
      expectRefused(await admin.get(url), url);
  });

  it('leaves text that is merely unusual alone', async () => {
    const owner = await web.browser('user');
    const { videoId } = await web.addVideo(owner.user!.userId);
    const name = 'Ünïcödé 🎬 %FF \u200b';
    const named = await owner.post(`/creators-portal/videos/${videoId}/name`, { name });
    // Sent: the page comes back saving it, the name kept as typed.
    expect(named.statusCode).toBe(200);
    expect(named.body).toContain(`value="${name}"`);
  });
});
