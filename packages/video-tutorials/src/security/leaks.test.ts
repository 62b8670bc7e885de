import { randomUUID } from 'node:crypto';
import type { Queryable } from 'message-db-toolkit';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityStreamName, Registered } from '../contracts/identity.js';
import { startWebUnderAttack, type WebUnderAttack } from './harness.js';

/** What the site must not give away: secrets in admin views, links, cacheable private media and pages. */
let web: WebUnderAttack;
beforeAll(async () => {
  web = await startWebUnderAttack();
});
afterAll(async () => {
  await web?.close();
});

describe('admin message views', () => {
  it('redact password hashes and tokens', async () => {
    const userId = randomUUID();
    const passwordHash = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0c2FsdA$aGFzaG9mdGhlcGFzc3dvcmQ';
    const streamName = identityStreamName(userId);
    await web.store.write(
      streamName,
      Registered.create(
        { userId, email: `${userId}@example.com`, passwordHash },
        { metadata: { traceId: randomUUID(), sessionToken: 'a-session-token-0123456789' } },
      ),
    );
    const [message] = await web.store.read(streamName);
    const admin = await web.browser('admin');
    for (const url of [
      `/admin/messages/${message!.id}`,
      `/admin/streams/${encodeURIComponent(streamName)}`,
      '/admin/messages',
      `/admin/messages?category=identity`,
    ]) {
      const page = await admin.get(url);
      expect({ url, status: page.statusCode }).toEqual({ url, status: 200 });
      expect(page.body).not.toContain('c2VjcmV0c2FsdA');
      expect(page.body).not.toContain('a-session-token');
    }
    expect((await admin.get(`/admin/messages/${message!.id}`)).body).toContain('[redacted]');
  });
});

describe('the Admin link', () => {
  it('is shown to admins only', async () => {
    for (const who of ['anonymous', 'user', 'admin'] as const) {
      const page = await (await web.browser(who)).get('/');
      expect({ who, link: page.body.includes('href="/admin"') }).toEqual({ who, link: who === 'admin' });
    }
  });
});

describe('caching', () => {
  it('sends media of an unpublished video as private, published media as public', async () => {
    const owner = await web.browser('user');
    const draft = await web.addVideo(owner.user!.userId, { status: 'processing' });
    const poster = await owner.get(`/media/posters/${draft.videoId}`);
    expect(poster.statusCode).toBe(200);
    expect(poster.headers['cache-control']).toMatch(/^private/);
    expect(poster.headers['cache-control']).not.toContain('public');
    const published = await web.addVideo(owner.user!.userId);
    expect((await web.app.inject({ url: `/media/posters/${published.videoId}` })).headers['cache-control']).toMatch(
      /^public/,
    );
  });

  it('lets no cache keep a signed-in user’s pages', async () => {
    const user = await web.browser('user');
    for (const url of ['/', '/creators-portal', '/auth/log-in'])
      expect({ url, cache: (await user.get(url)).headers['cache-control'] }).toEqual({ url, cache: 'no-store' });
    expect((await web.app.inject({ url: '/' })).headers['cache-control']).not.toBe('no-store');
  });
});

describe('the operation page’s event stream', () => {
  /** View Data that works until it is told to fail, as when the database goes away. */
  let failing = false;
  const viewData = (): Queryable => ({
    query: (text, params) => (failing ? Promise.reject(new Error('connection lost')) : web.test.db.query(text, params)),
    exec: (text) => (failing ? Promise.reject(new Error('connection lost')) : web.test.db.exec(text)),
  });

  async function openStream() {
    const { app, browser } = await web.portalOn(viewData());
    const stream = app.inject({
      url: `/creators-portal/operations/${randomUUID()}/events`,
      headers: { cookie: browser.cookieHeader() },
    });
    return { app, stream };
  }
  const ended = (stream: Promise<LightMyRequestResponse>) =>
    Promise.race([
      stream.then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000)),
    ]);

  it('ends when View Data fails', async () => {
    failing = false;
    const { app, stream } = await openStream();
    // No signal: an injected request answers only once its stream has ended.
    await new Promise((resolve) => setTimeout(resolve, 600));
    failing = true;
    expect(await ended(stream)).toBe('ended');
    expect((await stream).body).toContain(': waiting');
    failing = false;
    await app.close();
  });

  it('ends when the server closes', async () => {
    failing = false;
    const { app, stream } = await openStream();
    // No signal: an injected request answers only once its stream has ended.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const closing = app.close();
    expect(await ended(stream)).toBe('ended');
    await closing;
  });
});
