import { randomUUID } from 'node:crypto';
import type { Message, MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationStreamName, UserLoggedIn, UserLoginFailed } from '../../contracts/authentication.js';
import {
  AccountLocked,
  AccountUnlocked,
  identityStreamName,
  Registered,
  RegistrationEmailSent,
} from '../../contracts/identity.js';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { applyUserEvents, findAdminUser, listUsers } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, message: Message): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(messages: StoredMessage[]) {
  const apply = (tx: Queryable) => applyUserEvents(messages, tx);
  await test.db.transaction(apply);
  await test.db.transaction(apply);
}

async function registered(email = `${randomUUID()}@example.com`) {
  const userId = randomUUID();
  const message = await written(identityStreamName(userId), Registered.create({ userId, email, passwordHash: 'x' }));
  return { userId, email, message };
}

describe('admin-users aggregator', () => {
  it('follows registration, its e-mail, log-ins, viewings and locks, counting each event once', async () => {
    const { userId, email, message } = await registered('Someone.Else@Example.com');
    const videoId = randomUUID();
    const messages = [
      message,
      await written(identityStreamName(userId), RegistrationEmailSent.create({ userId, emailId: randomUUID() })),
      await written(authenticationStreamName(userId), UserLoggedIn.create({ userId })),
      await written(authenticationStreamName(userId), UserLoginFailed.create({ userId, reason: 'Incorrect password' })),
      await written(authenticationStreamName(userId), UserLoggedIn.create({ userId })),
      await written(viewingStreamName(videoId), VideoViewed.create({ userId, videoId })),
      await written(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId })),
      await written(
        identityStreamName(userId),
        AccountLocked.create({ userId, reason: 'too many failed log-ins', failedLoginCount: 5 }),
      ),
    ];
    await applyTwice(messages);
    await applyTwice(messages.slice(2, 4));

    expect(await findAdminUser(test.db, userId)).toEqual({
      id: userId,
      email,
      registeredAt: messages[0]!.time,
      registrationEmailSentAt: messages[1]!.time,
      locked: true,
      lockedAt: messages[7]!.time,
      loginCount: 2,
      failedLoginCount: 1,
      lastLoggedInAt: messages[4]!.time,
      viewCount: 1,
      lastViewedAt: messages[5]!.time,
    });

    const unlocked = await written(identityStreamName(userId), AccountUnlocked.create({ userId }));
    await applyTwice([...messages.slice(6), unlocked]);
    // A replay of the older lock does not lock again.
    await applyTwice(messages.slice(7));
    expect(await findAdminUser(test.db, userId)).toMatchObject({ locked: false, loginCount: 2, viewCount: 1 });
  });

  it('passes over a malformed event without failing', async () => {
    const userId = randomUUID();
    const malformed = await written(identityStreamName(userId), {
      id: randomUUID(),
      type: 'Registered',
      data: { userId, email: 42 },
    });
    await applyTwice([malformed]);
    expect(await findAdminUser(test.db, userId)).toBeNull();
  });

  it('lists users in e-mail order, a page at a time, and by the start of their e-mail', async () => {
    const prefix = `list-${randomUUID().slice(0, 8)}`;
    const users = [
      await registered(`${prefix}-c@example.com`),
      await registered(`${prefix}-a@example.com`),
      await registered(`${prefix}-b@example.com`),
    ];
    await applyTwice(users.map((user) => user.message));

    const first = await listUsers(test.db, { search: prefix.toUpperCase(), limit: 2 });
    expect(first.users.map((user) => user.email)).toEqual([`${prefix}-a@example.com`, `${prefix}-b@example.com`]);
    expect(first.next).not.toBeNull();
    const second = await listUsers(test.db, { search: prefix, after: first.next!, limit: 2 });
    expect(second.users.map((user) => user.email)).toEqual([`${prefix}-c@example.com`]);
    expect(second.next).toBeNull();
    expect((await listUsers(test.db, { search: '%', limit: 10 })).users).toEqual([]);
  });
});
