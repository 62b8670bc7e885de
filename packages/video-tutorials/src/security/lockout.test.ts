import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationStreamName } from '../contracts/authentication.js';
import { identityStreamName } from '../contracts/identity.js';
import { startRunningSystem, type RunningSystem } from './running-system.js';

/**
 * Locking must not be a weapon: a stranger's wrong passwords are throttled per account with growing delays,
 * a lock ends by itself, and the owner can lift it at once with the link e-mailed to them.
 */
const PASSWORD = 'my secret words';
let running: RunningSystem;

beforeAll(async () => {
  running = await startRunningSystem(
    { APP_URL: 'https://videos.example.com' },
    { web: true, workers: ['identity', 'send-email', 'user-credentials-aggregator'] },
  );
}, 180_000);
afterAll(() => running?.stop());

const failuresOf = async (userId: string) =>
  (await running.system.store.read(authenticationStreamName(userId))).filter(
    (event) => event.type === 'UserLoginFailed',
  ).length;

const identityTypes = async (userId: string) =>
  (await running.system.store.read(identityStreamName(userId))).map((event) => event.type);

describe('lock-outs', () => {
  it('throttles wrong passwords per account with growing delays, whatever the client address', async () => {
    const email = `victim-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    // A stranger from ever new addresses: three tries are free.
    for (let attempt = 0; attempt < 3; attempt++)
      expect((await running.logIn(email, 'a guess', `198.51.100.${attempt + 1}`)).response.statusCode).toBe(401);
    const throttled = await running.logIn(email, 'a guess', '198.51.100.50');
    expect(throttled.response.statusCode).toBe(429);
    expect(throttled.response.headers['retry-after']).toBe('1');
    // A throttled attempt is not tried, so it is not a failure and cannot hurry a lock.
    expect(await failuresOf(userId)).toBe(3);
    await sleep(1100); // the account's throttle passes with time itself
    expect((await running.logIn(email, 'a guess', '198.51.100.51')).response.statusCode).toBe(401);
    const longer = await running.logIn(email, 'a guess', '198.51.100.52');
    expect(longer.response.statusCode).toBe(429);
    expect(longer.response.headers['retry-after']).toBe('2');
    expect(await failuresOf(userId)).toBe(4);
  });

  it('a lock is temporary, and the owner unlocks it at once with the link e-mailed to them', async () => {
    const email = `owner-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    for (let failure = 0; failure < 5; failure++) {
      await sleep(failure >= 3 ? 1000 * 2 ** (failure - 3) + 100 : 0); // each failure counted, past the throttle
      expect((await running.logIn(email, 'a guess', '203.0.113.7')).response.statusCode).toBe(401);
    }
    await running.eventually(async () => ((await identityTypes(userId)).includes('AccountLocked') ? true : undefined));
    await running.caughtUp();
    const [row] = await running.system.viewData.query<{ locked: boolean; locked_until: Date | string }>(
      'SELECT locked, locked_until FROM user_credentials WHERE id = $1',
      [userId],
    );
    expect(row!.locked).toBe(true);
    const lockMinutes = (new Date(row!.locked_until).getTime() - Date.now()) / 60_000;
    expect(lockMinutes).toBeGreaterThan(10);
    expect(lockMinutes).toBeLessThanOrEqual(15);

    // The owner, with the right password, is told until when and about the e-mail.
    await sleep(8200); // the account's throttle after five failures in a row
    const refused = await running.logIn(email, PASSWORD);
    expect(refused.response.statusCode).toBe(403);
    expect(refused.response.body).toContain('We e-mailed you a link to unlock it now');

    const lockEmail = await running.eventually(async () =>
      (await running.emailsTo(email)).find((raw) => raw.includes('/auth/unlock?')),
    );
    const link = /https:\/\/videos\.example\.com(\/auth\/unlock\?userId=[0-9a-f-]{36}&token=[A-Za-z0-9_-]+)/.exec(
      lockEmail,
    )![1]!;
    const { browser } = refused;
    // A forged token unlocks nothing.
    await browser.get(link);
    await browser.post('/auth/unlock', { userId, token: 'f'.repeat(43) });
    await running.caughtUp();
    expect(await identityTypes(userId)).not.toContain('AccountUnlocked');

    const page = await browser.get(link);
    const token = /name="token" value="([^"]+)"/.exec(page.body)![1]!;
    expect((await browser.post('/auth/unlock', { userId, token })).statusCode).toBe(200);
    await running.eventually(async () =>
      (await identityTypes(userId)).includes('AccountUnlocked') ? true : undefined,
    );
    await running.caughtUp();
    expect((await running.logIn(email, PASSWORD)).response.statusCode).toBe(303);
  });
});
