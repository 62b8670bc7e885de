import { randomUUID } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityCommandStreamName, identityStreamName, Register } from '../../contracts/identity.js';
import { hashPassword } from '../../passwords.js';
import { startRunningSystem, type RunningSystem } from '../../security/running-system.js';
import { browserSession } from '../../test-support/browser-session.js';

/**
 * Side by side with the book's web pages (PASSWORD_HASH_ALGORITHM=bcrypt): every password hashed here — at
 * registration, on the account page and through a reset link — is a bcrypt hash the book's log-in accepts
 * (`bcrypt.compare`, as its authenticate application calls it), and log-in here still takes both kinds.
 */
const PASSWORD = 'my secret words';
const CHANGED = 'quite another phrase';
const RESET = 'a third phrase, reset';
const BOOK_FORMAT = /^\$2[ab]\$10\$[./A-Za-z0-9]{53}$/;

let running: RunningSystem;
beforeAll(async () => {
  running = await startRunningSystem(
    { APP_URL: 'https://videos.example.com', PASSWORD_HASH_ALGORITHM: 'bcrypt' },
    { web: true, workers: ['identity', 'send-email', 'user-credentials-aggregator'] },
  );
}, 180_000);
afterAll(() => running?.stop());

/** What the book's log-in would check a password against: the hash in user_credentials. */
async function storedHash(userId: string) {
  const [row] = await running.system.viewData.query<{ password_hash: string }>(
    'SELECT password_hash FROM user_credentials WHERE id = $1',
    [userId],
  );
  return row?.password_hash;
}

/** The hashes in identity's events, in order (`Registered`, then each `PasswordChanged`). */
async function hashesWritten(userId: string) {
  return (await running.system.store.read(identityStreamName(userId)))
    .filter((event) => event.type === 'Registered' || event.type === 'PasswordChanged')
    .map((event) => String(event.data.passwordHash));
}

const resetLinkIn = (email: string) =>
  /https:\/\/videos\.example\.com(\/auth\/reset-password\?userId=[0-9a-f-]{36}&token=[A-Za-z0-9_-]+)/.exec(email)?.[1];

describe('with PASSWORD_HASH_ALGORITHM=bcrypt', () => {
  it('registration, a change and a reset each hash with bcrypt as the book does; the book’s check accepts them', async () => {
    const email = `beside-the-book-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    const registered = await storedHash(userId);
    expect(registered).toMatch(BOOK_FORMAT);
    expect(await bcrypt.compare(PASSWORD, registered!)).toBe(true);

    // The account page.
    const { browser, response } = await running.logIn(email, PASSWORD, '198.51.100.70');
    expect(response.statusCode).toBe(303);
    await browser.get('/account');
    const changed = await browser.post('/account/password', {
      currentPassword: PASSWORD,
      password: CHANGED,
      passwordRepeat: CHANGED,
    });
    expect(changed.statusCode).toBe(303);
    const afterChange = await running.eventually(async () => {
      const hash = await storedHash(userId);
      return hash !== registered ? hash : undefined;
    });
    expect(afterChange).toMatch(BOOK_FORMAT);
    expect(await bcrypt.compare(CHANGED, afterChange)).toBe(true);

    // A reset link by e-mail.
    const other = browserSession(running.system.web!, { remoteAddress: '198.51.100.71' });
    await other.get('/auth/forgot-password');
    expect((await other.post('/auth/forgot-password', { email })).statusCode).toBe(200);
    const link = await running.eventually(async () =>
      (await running.emailsTo(email)).map(resetLinkIn).find((found) => found !== undefined),
    );
    await other.get(link);
    expect((await other.post('/auth/reset-password', { password: RESET, passwordRepeat: RESET })).statusCode).toBe(303);
    const afterReset = await running.eventually(async () => {
      const hash = await storedHash(userId);
      return hash !== afterChange ? hash : undefined;
    });
    expect(afterReset).toMatch(BOOK_FORMAT);
    expect(await bcrypt.compare(RESET, afterReset)).toBe(true);
    expect(await bcrypt.compare(CHANGED, afterReset)).toBe(false);

    // The same hashes are in identity's events, which the book's user-credentials aggregator copies.
    expect(await hashesWritten(userId)).toEqual([registered, afterChange, afterReset]);
    expect((await running.logIn(email, RESET, '198.51.100.72')).response.statusCode).toBe(303);
  });

  it('log-in still takes an argon2id hash made before the setting', async () => {
    const email = `argon2-${randomUUID().slice(0, 8)}@example.com`;
    const userId = randomUUID();
    const passwordHash = await hashPassword(PASSWORD, 'argon2id');
    await running.system.store.write(
      identityCommandStreamName(userId),
      Register.create({ userId, email, passwordHash }, { metadata: { traceId: randomUUID(), userId } }),
    );
    await running.eventually(async () => ((await storedHash(userId)) === passwordHash ? true : undefined));

    expect((await running.logIn(email, 'not the password', '198.51.100.73')).response.statusCode).toBe(401);
    expect((await running.logIn(email, PASSWORD, '198.51.100.74')).response.statusCode).toBe(303);
  });
});
