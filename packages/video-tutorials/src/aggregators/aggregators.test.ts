import { randomUUID } from 'node:crypto';
import type { MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AccountLocked,
  AccountUnlocked,
  identityStreamName,
  PasswordChanged,
  Registered,
  RegistrationEmailSent,
} from '../contracts/identity.js';
import { VideoViewed, viewingStreamName } from '../contracts/viewing.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import * as homePage from './home-page/index.js';
import * as registrationMonitor from './registration-monitor/index.js';
import * as userCredentials from './user-credentials/index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, message: Parameters<MessageStore['write']>[1]): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, position, 1);
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(apply: (m: StoredMessage[], tx: Queryable) => Promise<void>, messages: StoredMessage[]) {
  await test.db.transaction((tx) => apply(messages, tx));
  await test.db.transaction((tx) => apply(messages, tx));
}

describe('home-page aggregator', () => {
  it('counts each viewing once', async () => {
    const videoId = randomUUID();
    const viewings = [
      await written(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId })),
      await written(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId })),
    ];
    await applyTwice(homePage.applyViewings, viewings);
    await applyTwice(homePage.applyViewings, viewings.slice(0, 1));
    expect(await homePage.loadHomePage(test.db)).toEqual({ videosWatched: 2 });
  });

  it('catches up through its subscription', async () => {
    const piece = homePage.build({ store: test.store, viewData: test.db });
    const videoId = randomUUID();
    await test.store.write(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId }));
    await piece.start();
    await piece.subscriptions[0]!.waitUntilCaughtUp();
    await piece.stop();
    expect(await homePage.loadHomePage(test.db)).toEqual({ videosWatched: 3 });
  });
});

describe('user-credentials aggregator', () => {
  it('records credentials once and follows the lock status in stream order', async () => {
    const userId = randomUUID();
    const email = `${userId}@example.com`;
    const stream = identityStreamName(userId);
    const registered = await written(stream, Registered.create({ userId, email, passwordHash: 'hash' }));
    const locked = await written(
      stream,
      AccountLocked.create({ userId, reason: 'too many failures', failedLoginCount: 5 }),
    );
    await applyTwice(userCredentials.applyIdentityEvents, [registered, locked]);
    expect(await userCredentials.findCredentialsByEmail(test.db, email.toUpperCase())).toEqual({
      id: userId,
      email,
      passwordHash: 'hash',
      locked: true,
      lockedUntil: null, // a lock of the book's kind, with no end: it lasts until unlocked
    });
    const unlocked = await written(stream, AccountUnlocked.create({ userId }));
    await applyTwice(userCredentials.applyIdentityEvents, [unlocked]);
    // A replay of the older lock must not lock again.
    await applyTwice(userCredentials.applyIdentityEvents, [locked]);
    expect((await userCredentials.findCredentialsByEmail(test.db, email))?.locked).toBe(false);
  });

  it('gives no credentials to a second account with an address already taken', async () => {
    const email = `${randomUUID()}@example.com`;
    const first = randomUUID();
    const second = randomUUID();
    await applyTwice(userCredentials.applyIdentityEvents, [
      await written(identityStreamName(first), Registered.create({ userId: first, email, passwordHash: 'a' })),
      await written(identityStreamName(second), Registered.create({ userId: second, email, passwordHash: 'b' })),
    ]);
    expect((await userCredentials.findCredentialsByEmail(test.db, email))?.id).toBe(first);
  });

  it('takes the new hash of a password change and ends the sessions started before it, once', async () => {
    const userId = randomUUID();
    const email = `${userId}@example.com`;
    const stream = identityStreamName(userId);
    // A hash of the book's kind (bcrypt) is replaced by the new one.
    const bookHash = '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';
    const registered = await written(stream, Registered.create({ userId, email, passwordHash: bookHash }));
    await applyTwice(userCredentials.applyIdentityEvents, [registered]);
    expect((await userCredentials.findAccountStanding(test.db, userId))?.sessionsEndedAt).toBeNull();
    const changed = await written(stream, PasswordChanged.create({ userId, passwordHash: 'new', reason: 'change' }));
    await applyTwice(userCredentials.applyIdentityEvents, [changed]);
    expect((await userCredentials.findCredentialsByEmail(test.db, email))?.passwordHash).toBe('new');
    expect((await userCredentials.findAccountStanding(test.db, userId))?.sessionsEndedAt).toEqual(changed.time);
    // A replay of the registration does not bring the old hash back.
    await applyTwice(userCredentials.applyIdentityEvents, [registered]);
    expect((await userCredentials.findCredentialsByEmail(test.db, email))?.passwordHash).toBe('new');
  });
});

describe('registration monitor', () => {
  it('flags registrations whose e-mail was not sent within the limit, once', async () => {
    const slow = randomUUID();
    const quick = randomUUID();
    const messages = [
      await written(
        identityStreamName(slow),
        Registered.create({ userId: slow, email: `${slow}@example.com`, passwordHash: 'h' }),
      ),
      await written(
        identityStreamName(quick),
        Registered.create({ userId: quick, email: `${quick}@example.com`, passwordHash: 'h' }),
      ),
      await written(identityStreamName(quick), RegistrationEmailSent.create({ userId: quick, emailId: randomUUID() })),
    ];
    await applyTwice(registrationMonitor.applyRegistrationEvents, messages);
    const monitor = registrationMonitor.build({ store: test.store, viewData: test.db, limitMs: 60_000 });
    expect(await monitor.flagOverdue(new Date())).toBe(0);
    const later = new Date(Date.now() + 120_000);
    expect(await monitor.flagOverdue(later)).toBe(1);
    expect(await monitor.flagOverdue(later)).toBe(0);
    const overdue = await registrationMonitor.listOverdueRegistrations(test.db);
    expect(overdue.map((row) => row.user_id)).toEqual([slow]);
  });
});
