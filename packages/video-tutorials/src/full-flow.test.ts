import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, eventually, type TestDatabase, testPgliteTemplate } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationStreamName } from './contracts/authentication.js';
import { identityCommandStreamName, identityStreamName, UnlockAccount } from './contracts/identity.js';
import { readConfig } from './config.js';
import { startSystem, type System } from './system.js';
import { browserSession } from './test-support/browser-session.js';

/**
 * The running system, every piece in one process, on the test database:
 * register → the e-mail arrives → log in → a wrong password is recorded →
 * repeated failures lock the account → an unlock lets the user in again.
 */
let system: System;
let database: TestDatabase | null = null;
let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-flow-'));
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: directory };
  if (process.env.TEST_POSTGRES_URL) {
    database = await createTestDatabase({ install: false });
    env.MESSAGE_STORE_CONNECTION_STRING = database.connectionString!;
    env.DATABASE_URL = database.connectionString!;
  }
  system = await startSystem(readConfig(env), undefined, { pgliteTemplate: await testPgliteTemplate() });
});
afterAll(async () => {
  await system.stop();
  await database?.drop();
  await rm(directory, { recursive: true, force: true });
});

async function caughtUp() {
  await Promise.all(
    system.pieces.flatMap((piece) => piece.subscriptions).map((subscription) => subscription.waitUntilCaughtUp()),
  );
}

/** How long the running system is given, and how often it is asked. */
const patience = { timeoutMs: 20_000, intervalMs: 50 };

describe('the running system', () => {
  it('registers, e-mails, logs in, records failures, locks and unlocks', async () => {
    const web = system.web!;
    const browser = browserSession(web);
    const email = `learner-${Date.now()}@example.com`;
    const form = await browser.get('/register');
    const userId = /name="userId" value="([^"]+)"/.exec(form.body)![1]!;
    expect((await browser.post('/register', { userId, email, password: 'my secret words' })).statusCode).toBe(303);

    // The registration e-mail is written to EMAIL_DIRECTORY by send-email.
    const emailDirectory = path.join(directory, 'emails');
    const emailFile = await eventually(async () => {
      const files = await readdir(emailDirectory).catch(() => []);
      return files.find((file) => file.endsWith('.eml'));
    }, patience);
    const rawEmail = await readFile(path.join(emailDirectory, emailFile), 'utf8');
    expect(rawEmail).toContain(`To: ${email}`);
    await caughtUp();
    const identityEvents = (await system.store.read(identityStreamName(userId))).map((event) => event.type);
    expect(identityEvents).toEqual(['Registered', 'EmailConfirmationRequested', 'RegistrationEmailSent']);
    const [command] = await system.store.read(identityCommandStreamName(userId));
    const [registered] = await system.store.read(identityStreamName(userId));
    expect(registered!.metadata.traceId).toBe(command!.metadata.traceId);

    // Log in works.
    await browser.get('/auth/log-in');
    expect((await browser.post('/auth/log-in', { email, password: 'my secret words' })).statusCode).toBe(303);
    expect((await browser.get('/')).body).toContain(email);
    await browser.post('/auth/log-out');

    // A wrong password is recorded; five of them lock the account.
    for (let attempt = 0; attempt < 5; attempt++) {
      // After three failures in a row the account waits 1 s, then 2 s, before the next attempt counts.
      if (attempt >= 3) await sleep(1000 * 2 ** (attempt - 3) + 100);
      await browser.get('/auth/log-in');
      expect((await browser.post('/auth/log-in', { email, password: 'not my password' })).statusCode).toBe(401);
    }
    // Each failure is recorded just after its answer (so the answer takes no longer than for an unknown address).
    const failures = await eventually(async () => {
      const found = (await system.store.read(authenticationStreamName(userId))).filter(
        (event) => event.type === 'UserLoginFailed',
      );
      return found.length >= 5 ? found : undefined;
    }, patience);
    expect(failures).toHaveLength(5);
    await caughtUp();
    await eventually(
      async () =>
        (await system.store.read(identityStreamName(userId))).some((event) => event.type === 'AccountLocked')
          ? true
          : undefined,
      patience,
    );
    await caughtUp();
    await sleep(4100); // the account's wait after five failures in a row
    await browser.get('/auth/log-in');
    const locked = await browser.post('/auth/log-in', { email, password: 'my secret words' });
    expect(locked.statusCode).toBe(403);

    // An unlock (the admin's action) lets the user in again.
    await system.store.write(identityCommandStreamName(userId), UnlockAccount.create({ userId }));
    await eventually(
      async () =>
        (await system.store.read(identityStreamName(userId))).some((event) => event.type === 'AccountUnlocked')
          ? true
          : undefined,
      patience,
    );
    await caughtUp();
    await browser.get('/auth/log-in');
    expect((await browser.post('/auth/log-in', { email, password: 'my secret words' })).statusCode).toBe(303);
  });

  it('counts viewings on the home page', async () => {
    const browser = browserSession(system.web!);
    const before = /data-testid="videos-watched">(\d+)</.exec((await browser.get('/')).body)![1];
    const form = /action="(\/record-viewing\/[^"]+)"/.exec((await browser.get('/')).body)![1]!;
    await browser.post(form);
    await browser.get('/');
    await browser.post(form);
    await caughtUp();
    const after = /data-testid="videos-watched">(\d+)</.exec((await browser.get('/')).body)![1];
    expect(Number(after) - Number(before)).toBe(2);
  });
});
