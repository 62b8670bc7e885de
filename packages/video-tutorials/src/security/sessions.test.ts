import { createPlaybackTokens } from '../app/record-viewings/index.js';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticateApp } from '../app/authenticate/index.js';
import { createSessions } from '../app/authenticate/sessions.js';
import { createHomeApp } from '../app/home/index.js';
import { applyIdentityEvents } from '../aggregators/user-credentials/index.js';
import { AccountLocked, identityStreamName, UnlockAccount, identityCommandStreamName } from '../contracts/identity.js';
import { sessionStreamName } from '../contracts/authentication.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { createViewDataChanges } from '../view-data/short-lived-cache.js';
import { browserSession } from '../test-support/browser-session.js';
import { buildWebServer } from '../web/server.js';
import { startRunningSystem, type RunningSystem } from './running-system.js';

/** Sessions can be revoked: a copied cookie stops working at log-out, at a lock, and when the session expires. */

const PASSWORD = 'my secret words';
const signedInAs = (body: string, email: string) => body.includes(email);

describe('sessions in the running system', () => {
  let running: RunningSystem;
  beforeAll(async () => {
    running = await startRunningSystem({}, { web: true, workers: ['identity', 'user-credentials-aggregator'] });
  }, 180_000);
  afterAll(() => running?.stop());

  const copyOf = (cookies: Map<string, string>) => {
    const thief = browserSession(running.system.web!, { remoteAddress: '203.0.113.9' });
    for (const [name, value] of cookies) thief.cookies.set(name, value);
    return thief;
  };

  it('a copied session cookie stops working at the very next request after log-out', async () => {
    const email = `learner-${randomUUID().slice(0, 8)}@example.com`;
    await running.register(email, PASSWORD);
    const { browser, response } = await running.logIn(email, PASSWORD);
    expect(response.statusCode).toBe(303);
    const thief = copyOf(browser.cookies);
    expect(signedInAs((await thief.get('/')).body, email)).toBe(true);

    await browser.get('/');
    expect((await browser.post('/auth/log-out')).statusCode).toBe(303);

    // No waiting for any aggregator: the very next request.
    expect(signedInAs((await thief.get('/')).body, email)).toBe(false);
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);
  });

  it('the session cookie names only the session: no e-mail, no user id', async () => {
    const email = `cookie-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    const { browser } = await running.logIn(email, PASSWORD);
    const cookie = decodeURIComponent(browser.cookies.get('session')!);
    expect(cookie).not.toContain(email);
    expect(cookie).not.toContain(userId);
    // Unsigned, or signed for a session that never started: nobody.
    const sessionId = cookie.split('.')[0]!;
    const forger = browserSession(running.system.web!);
    forger.cookies.set('session', sessionId);
    expect(signedInAs((await forger.get('/')).body, email)).toBe(false);
    forger.cookies.set('session', encodeURIComponent(`${randomUUID()}.${cookie.split('.').slice(1).join('.')}`));
    expect(signedInAs((await forger.get('/')).body, email)).toBe(false);
  });

  it('locking the account ends its sessions, and an unlock does not bring them back', async () => {
    const email = `locked-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    const { browser } = await running.logIn(email, PASSWORD);
    const thief = copyOf(browser.cookies);
    expect(signedInAs((await thief.get('/')).body, email)).toBe(true);

    // Five wrong passwords: identity locks the account.
    for (let attempt = 0; attempt < 5; attempt++) {
      // The account's throttle: after three failures in a row, 1 s then 2 s before the next one counts.
      if (attempt >= 3) await sleep(1000 * 2 ** (attempt - 3) + 100);
      await running.logIn(email, 'not my password');
    }
    await running.eventually(async () =>
      (await running.system.store.read(identityStreamName(userId))).some((event) => event.type === 'AccountLocked')
        ? true
        : undefined,
    );
    await running.caughtUp();
    expect(signedInAs((await thief.get('/')).body, email)).toBe(false);
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);

    await running.system.store.write(identityCommandStreamName(userId), UnlockAccount.create({ userId }));
    await running.eventually(async () =>
      (await running.system.store.read(identityStreamName(userId))).some((event) => event.type === 'AccountUnlocked')
        ? true
        : undefined,
    );
    await running.caughtUp();
    expect(signedInAs((await thief.get('/')).body, email)).toBe(false);
    // The owner logs in again (once the account's throttle has passed): a new session.
    await sleep(4100); // the throttle passes with time itself
    const again = await running.logIn(email, PASSWORD);
    expect(again.response.statusCode).toBe(303);
    expect(signedInAs((await again.browser.get('/')).body, email)).toBe(true);
  });
});

// Read at every request, and kept (the web server's cache, here kept far longer than a session may idle: the limits
// are checked against what the store said, at every request, whatever the cache's own time).
describe.each([
  ['read at every request', false],
  ['kept', true],
])('session expiry, %s', (_name, kept) => {
  const changes = createViewDataChanges();
  let test: TestDatabase & { store: MessageStore };
  let app: FastifyInstance;
  let now = Date.now();
  const idleMs = 30 * 60_000;
  const absoluteMs = 8 * 3_600_000;

  beforeAll(async () => {
    test = await createSystemTestDatabase();
    const { store, db: viewData } = test;
    app = await buildWebServer({
      appName: 'Video Tutorials',
      cookieSecret: 'a-test-cookie-secret-of-at-least-32-chars',
      secureCookies: false,
      sessions: createSessions({
        store,
        viewData,
        settings: { idleMs, absoluteMs },
        clock: () => new Date(now),
        ...(kept ? { cache: { ttlMs: 24 * 3_600_000, changes } } : {}),
      }),
      applications: [
        createHomeApp({ viewData, playbackTokens: createPlaybackTokens('a-test-cookie-secret-of-at-least-32-chars') }),
        createAuthenticateApp({ store, viewData }),
      ],
    });
  }, 180_000);
  afterAll(async () => {
    await app?.close();
    await test?.drop();
  });

  async function signedInBrowser() {
    const email = `expiry-${randomUUID().slice(0, 8)}@example.com`;
    const userId = randomUUID();
    const { hashPassword } = await import('../passwords.js');
    await test.db.query('INSERT INTO user_credentials (id, email, password_hash) VALUES ($1, $2, $3)', [
      userId,
      email,
      await hashPassword(PASSWORD),
    ]);
    now = Date.now();
    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    expect((await browser.post('/auth/log-in', { email, password: PASSWORD })).statusCode).toBe(303);
    const sessionId = decodeURIComponent(browser.cookies.get('session')!).split('.')[0]!;
    return { browser, email, userId, sessionId };
  }

  it('ends after the idle time without a request, and is kept alive by use', async () => {
    const { browser, email } = await signedInBrowser();
    const start = now;
    // Used every 20 minutes: still open after an hour, each use recorded now and then.
    for (const minutes of [20, 40, 60]) {
      now = start + minutes * 60_000;
      expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
    }
    now = start + 60 * 60_000 + idleMs + 1000;
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);
  });

  it('records its use once in a quarter of the idle time, not at every request', async () => {
    const { browser, email, sessionId } = await signedInBrowser();
    const start = now;
    for (const minutes of [20, 40, 60, 80]) {
      now = start + minutes * 60_000;
      for (let request = 0; request < 2; request++) expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
    }
    const refreshes = (await test.store.read(sessionStreamName(sessionId))).filter(
      (message) => message.type === 'SessionRefreshed',
    );
    expect(refreshes).toHaveLength(4);
  });

  it('ends at the absolute limit however busy it is', async () => {
    const { browser, email } = await signedInBrowser();
    const start = now;
    for (let minutes = 20; minutes < absoluteMs / 60_000; minutes += 20) {
      now = start + minutes * 60_000;
      expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
    }
    now = start + absoluteMs + 1000;
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);
  });

  it('a lock ends sessions started before it (the user-credentials View Data)', async () => {
    const { browser, email, userId } = await signedInBrowser();
    expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
    const { position } = await test.store.write(
      identityStreamName(userId),
      AccountLocked.create({ userId, reason: 'test', failedLoginCount: 5 }),
    );
    const [locked] = await test.store.read(identityStreamName(userId), { from: position, max: 1 });
    await test.db.transaction((tx) => applyIdentityEvents([locked!], tx));
    changes.changed(); // as this process's user-credentials aggregator tells on committing it
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);
  });
});
