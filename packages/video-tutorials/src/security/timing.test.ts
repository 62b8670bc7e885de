import { createSessions } from '../app/authenticate/sessions.js';
import type { MessageStore } from 'message-db-toolkit';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { eventually } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticateApp } from '../app/authenticate/index.js';
import { authenticationStreamName } from '../contracts/authentication.js';
import { hashPassword, verifyPassword } from '../passwords.js';
import { browserSession } from '../test-support/browser-session.js';
import { buildWebServer } from '../web/server.js';
import { COOKIE_SECRET, PASSWORD, startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * Log-in must not tell an unknown address from a wrong password by how long it takes: both do the same
 * work — one password verification against a hash as costly as a real one — and the wrong password's
 * answer does not wait for the failure to be recorded. The work is counted, not timed.
 */
let web: WebUnderAttack;
let app: FastifyInstance;
const verified: string[] = [];
let releaseWrites: () => void = () => {};
let writesHeld = false;

const parametersOf = (hash: string) => /^\$argon2id\$v=\d+\$(m=\d+,t=\d+,p=\d+)\$/.exec(hash)?.[1];

beforeAll(async () => {
  web = await startWebUnderAttack();
  // The real store, whose writes can be held back to see whether an answer waits for them.
  const store: MessageStore = {
    ...web.store,
    async write(...args: Parameters<MessageStore['write']>) {
      if (writesHeld) await new Promise<void>((resolve) => (releaseWrites = resolve));
      return web.store.write(...args);
    },
  };
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: COOKIE_SECRET,
    secureCookies: false,
    sessions: createSessions({ store: web.store, viewData: web.test.db }),
    applications: [
      createAuthenticateApp({
        store,
        viewData: web.test.db,
        verifyPassword: async (hash, password) => {
          verified.push(hash);
          return verifyPassword(hash, password);
        },
      }),
    ],
  });
});
afterAll(async () => {
  await app?.close();
  await web?.close();
});

async function logIn(email: string, password: string) {
  const browser = browserSession(app, { remoteAddress: `10.3.0.${verified.length}` });
  await browser.get('/auth/log-in');
  verified.length = 0;
  return browser.post('/auth/log-in', { email, password });
}

describe('log-in', () => {
  it('verifies one password, with a hash of the same cost, for an unknown address and a wrong password', async () => {
    const { email } = await web.addUser();
    const realParameters = parametersOf(await hashPassword('whatever'));
    expect(realParameters).toBeDefined();

    expect((await logIn('nobody-at-all@example.com', PASSWORD)).statusCode).toBe(401);
    expect(verified).toHaveLength(1);
    expect(parametersOf(verified[0]!)).toBe(realParameters);

    expect((await logIn(email, 'not the password')).statusCode).toBe(401);
    expect(verified).toHaveLength(1);
    expect(parametersOf(verified[0]!)).toBe(realParameters);

    expect((await logIn(email, PASSWORD)).statusCode).toBe(303);
    expect(verified).toHaveLength(1);
  });

  it('answers a wrong password before the failure is recorded, and records it', async () => {
    const { email, userId } = await web.addUser();
    writesHeld = true;
    const browser = browserSession(app, { remoteAddress: '10.3.1.1' });
    await browser.get('/auth/log-in');
    const answer = browser.post('/auth/log-in', { email, password: 'not the password' });
    const first = await Promise.race([
      answer.then((response: LightMyRequestResponse) => `answered ${response.statusCode}`),
      new Promise<string>((resolve) => setTimeout(() => resolve('waited for the write'), 5_000)),
    ]);
    writesHeld = false;
    releaseWrites();
    expect(first).toBe('answered 401');
    await answer;
    // Recorded just after the answer: the assertion below says what is missing if it never is.
    await eventually(async () => (await web.store.read(authenticationStreamName(userId))).length > 0, {
      timeoutMs: 5_000,
      intervalMs: 50,
    }).catch(() => {});
    expect((await web.store.read(authenticationStreamName(userId))).map((event) => event.type)).toEqual([
      'UserLoginFailed',
    ]);
  });
});
