import { randomUUID } from 'node:crypto';
import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountDeleted, identityStreamName, LoggedOutEverywhere, Registered } from '../../contracts/identity.js';
import { applyTwice, createSystemTestDatabase } from '../../test-support/database.js';
import { bookRegistration, exampleUser, written as writtenIn } from '../../components/identity/controls.js';
import { applyIdentityEvents, findAccountStanding, findCredentialsByEmail, sessionsEndedAt } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

const written = (streamName: string, message: Parameters<MessageStore['write']>[1]) =>
  writtenIn(test.store, streamName, message);
const registration = (email: string) => {
  const userId = randomUUID();
  return { userId, event: Registered.create({ userId, email, passwordHash: `hash-of-${userId}` }) };
};

describe('user-credentials aggregator: the account page', () => {
  it('LoggedOutEverywhere ends every session started before it, once', async () => {
    const { userId, event } = registration(`everywhere-${randomUUID().slice(0, 8)}@example.com`);
    const events = [
      await written(identityStreamName(userId), event),
      await written(identityStreamName(userId), LoggedOutEverywhere.create({ userId })),
    ];
    await applyTwice(test.db, applyIdentityEvents, events);
    expect(await sessionsEndedAt(test.db, userId)).toEqual(events[1]!.time);
    expect((await findAccountStanding(test.db, userId))?.sessionsEndedAt).toEqual(events[1]!.time);
  });

  it('AccountDeleted takes the credentials away for good, and frees the address for a new account', async () => {
    const email = `leaving-${randomUUID().slice(0, 8)}@example.com`;
    const { userId, event } = registration(email);
    const events = [
      await written(identityStreamName(userId), event),
      await written(identityStreamName(userId), AccountDeleted.create({ userId })),
    ];
    await applyTwice(test.db, applyIdentityEvents, events);
    expect(await findCredentialsByEmail(test.db, email)).toBeNull();
    expect(await findAccountStanding(test.db, userId)).toBeNull();
    expect(await sessionsEndedAt(test.db, userId)).toEqual(events[1]!.time);
    // Nothing of the address or the hash is kept in the row left behind.
    const [row] = await test.db.query<{ email: string; password_hash: string }>(
      'SELECT email, password_hash FROM user_credentials WHERE id = $1',
      [userId],
    );
    expect(row).toEqual({ email: '', password_hash: '' });

    // The deleted account's Registered applied again (a replay) resurrects nothing.
    await applyTwice(test.db, applyIdentityEvents, events.slice(0, 1));
    expect(await findCredentialsByEmail(test.db, email)).toBeNull();

    // Someone registers the address again: a new account, with credentials of its own.
    const again = registration(email.toUpperCase());
    await applyTwice(test.db, applyIdentityEvents, [await written(identityStreamName(again.userId), again.event)]);
    expect(await findCredentialsByEmail(test.db, email)).toMatchObject({ id: again.userId });
  });
});

const registered = (userId: string, displayName?: string) =>
  written(
    identityStreamName(userId),
    Registered.create({
      userId,
      email: `named-${userId.slice(0, 8)}@example.com`,
      passwordHash: 'hash',
      ...(displayName === undefined ? {} : { displayName }),
    }),
  );
const publicNameOf = async (userId: string) =>
  (
    await test.db.query<{ display_name: string | null; deleted: boolean }>(
      'SELECT display_name, deleted_at IS NOT NULL AS deleted FROM user_public_names WHERE user_id = $1',
      [userId],
    )
  )[0] ?? null;

describe('user-credentials aggregator: users’ public names', () => {
  it('keeps the display name given at registration, none when none was given', async () => {
    const [named, unnamed] = [randomUUID(), randomUUID()];
    await applyTwice(test.db, applyIdentityEvents, [
      await registered(named, 'Ada <b>L</b>'),
      await registered(unnamed),
    ]);
    expect(await publicNameOf(named)).toEqual({ display_name: 'Ada <b>L</b>', deleted: false });
    expect(await publicNameOf(unnamed)).toEqual({ display_name: null, deleted: false });
  });

  it('a registration of the book’s system (no display name) has a row without a name', async () => {
    const user = exampleUser();
    await bookRegistration(test.db, 'Registered', user);
    const [event] = await test.store.read(identityStreamName(user.userId));
    await applyTwice(test.db, applyIdentityEvents, [event!]);
    expect(await publicNameOf(user.userId)).toEqual({ display_name: null, deleted: false });
  });

  it('AccountDeleted takes the name away; the Registered applied again brings nothing back', async () => {
    const userId = randomUUID();
    const events = [
      await registered(userId, 'Grace'),
      await written(identityStreamName(userId), AccountDeleted.create({ userId })),
    ];
    await applyTwice(test.db, applyIdentityEvents, events);
    expect(await publicNameOf(userId)).toEqual({ display_name: null, deleted: true });
    await applyTwice(test.db, applyIdentityEvents, events.slice(0, 1));
    expect(await publicNameOf(userId)).toEqual({ display_name: null, deleted: true });
  });

  it('a later Registered in the stream does not rename the user', async () => {
    const userId = randomUUID();
    await applyTwice(test.db, applyIdentityEvents, [
      await registered(userId, 'First'),
      await registered(userId, 'Second'),
    ]);
    expect(await publicNameOf(userId)).toEqual({ display_name: 'First', deleted: false });
  });
});
