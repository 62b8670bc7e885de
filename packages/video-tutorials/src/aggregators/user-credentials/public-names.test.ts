import { randomUUID } from 'node:crypto';
import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountDeleted, identityStreamName, Registered } from '../../contracts/identity.js';
import { bookRegistration, exampleUser, written as writtenIn } from '../../components/identity/controls.js';
import { applyTwice, createSystemTestDatabase } from '../../testing.js';
import { applyIdentityEvents } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

const written = (streamName: string, message: Parameters<MessageStore['write']>[1]) =>
  writtenIn(test.store, streamName, message);
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
    await applyTwice(test.db, applyIdentityEvents, [await registered(named, 'Ada <b>L</b>'), await registered(unnamed)]);
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
    await applyTwice(test.db, applyIdentityEvents, [await registered(userId, 'First'), await registered(userId, 'Second')]);
    expect(await publicNameOf(userId)).toEqual({ display_name: 'First', deleted: false });
  });
});
