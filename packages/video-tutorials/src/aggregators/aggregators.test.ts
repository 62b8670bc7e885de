import { randomUUID } from 'node:crypto';
import type { MessageStore, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AccountLocked,
  AccountUnlocked,
  identityStreamName,
  PasswordChanged,
  Registered,
  RegistrationEmailSent,
} from '../contracts/identity.js';
import { VideoViewed, viewingStreamName } from '../contracts/viewing.js';
import { applyTwice as applyTwiceTo, createSystemTestDatabase } from '../test-support/database.js';
import * as homePage from './home-page/index.js';
import * as registrationMonitor from './registration-monitor/index.js';
import * as userCredentials from './user-credentials/index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(
  streamName: string,
  message: Parameters<MessageStore['write']>[1],
  into = test,
): Promise<StoredMessage> {
  const { position } = await into.store.write(streamName, message);
  const [stored] = await into.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

/** Applies messages to View Data twice, as a replay would: the second time must change nothing. */
const applyTwice = (apply: Parameters<typeof applyTwiceTo>[1], messages: StoredMessage[], into = test) =>
  applyTwiceTo(into.db, apply, messages);

describe('home-page aggregator', () => {
  // The home page counts every viewing there is: each case starts from a database of its own.
  let home: TestDatabase & { store: MessageStore };
  beforeEach(async () => {
    home = await createSystemTestDatabase();
  });
  afterEach(() => home.drop());

  const viewed = (videoId: string) =>
    written(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId }), home);

  it('counts each viewing once', async () => {
    const videoId = randomUUID();
    const viewings = [await viewed(videoId), await viewed(videoId)];
    await applyTwice(homePage.applyViewings, viewings, home);
    await applyTwice(homePage.applyViewings, viewings.slice(0, 1), home);
    expect(await homePage.loadHomePage(home.db)).toEqual({ videosWatched: 2 });
  });

  it('catches up through its subscription', async () => {
    // Two viewings View Data has already counted, and one it has not: the subscription counts each once.
    const videoId = randomUUID();
    await applyTwice(homePage.applyViewings, [await viewed(videoId), await viewed(videoId)], home);
    const piece = homePage.build({ store: home.store, viewData: home.db });
    await viewed(videoId);
    await piece.start();
    await piece.subscriptions[0]!.waitUntilCaughtUp();
    await piece.stop();
    expect(await homePage.loadHomePage(home.db)).toEqual({ videosWatched: 3 });
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
