import { randomUUID } from 'node:crypto';
import type { MessageStore } from '@vt/message-store';
import type { TestDatabase } from '@vt/message-store/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionStreamName } from '../../contracts/authentication.js';
import { hashPassword } from '../../passwords.js';
import { createSystemTestDatabase } from '../../testing.js';
import { browserSession } from '../../web/browser-session.js';
import { buildWebServer } from '../../web/server.js';
import { createHomeApp } from '../home/index.js';
import { createPlaybackTokens } from '../record-viewings/index.js';
import { createAuthenticateApp } from './index.js';
import { createSessions } from './sessions.js';

/**
 * Sessions read through their cache still end on time: what is kept is what the store said, and the idle and
 * absolute limits are checked against it at every request. A cache kept far longer than a session may idle
 * shows that these checks do not depend on the cache's own time.
 */

const SECRET = 'a-test-cookie-secret-of-at-least-32-chars';
const PASSWORD = 'words of the sessions cache test';
const idleMs = 30 * 60_000;
const absoluteMs = 8 * 3_600_000;
const signedInAs = (body: string, email: string) => body.includes(`Signed in as <strong>${email}</strong>`);

let test: TestDatabase & { store: MessageStore };
let app: FastifyInstance;
let now = Date.now();
beforeAll(async () => {
  test = await createSystemTestDatabase();
  const { store, db: viewData } = test;
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: SECRET,
    secureCookies: false,
    sessions: createSessions({
      store,
      viewData,
      settings: { idleMs, absoluteMs },
      clock: () => new Date(now),
      cache: { ttlMs: 24 * 3_600_000 },
    }),
    applications: [
      createHomeApp({ viewData, playbackTokens: createPlaybackTokens(SECRET) }),
      createAuthenticateApp({ store, viewData }),
    ],
  });
}, 180_000);
afterAll(async () => {
  await app?.close();
  await test?.drop();
});

async function signedInBrowser() {
  const email = `kept-${randomUUID().slice(0, 8)}@example.com`;
  await test.db.query('INSERT INTO user_credentials (id, email, password_hash) VALUES ($1, $2, $3)', [
    randomUUID(),
    email,
    await hashPassword(PASSWORD),
  ]);
  now = Date.now();
  const browser = browserSession(app);
  await browser.get('/auth/log-in');
  expect((await browser.post('/auth/log-in', { email, password: PASSWORD })).statusCode).toBe(303);
  expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
  const sessionId = decodeURIComponent(browser.cookies.get('session')!).split('.')[0]!;
  return { browser, email, sessionId };
}

describe('a kept session', () => {
  it('ends after the idle time without a request', async () => {
    const { browser, email } = await signedInBrowser();
    now += idleMs + 1000;
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);
  });

  it('records its use now and then, so that being used keeps it open', async () => {
    const { browser, email, sessionId } = await signedInBrowser();
    const start = now;
    for (const minutes of [20, 40, 60, 80]) {
      now = start + minutes * 60_000;
      expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
      expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
    }
    const refreshed = (await test.store.read(sessionStreamName(sessionId))).filter(
      (message) => message.type === 'SessionRefreshed',
    );
    // One record per use after a quarter of the idle time, not one per request.
    expect(refreshed).toHaveLength(4);
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
});
