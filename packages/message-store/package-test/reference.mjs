// The README's reference samples (write and read, messages, consumers), run by src/package.test.ts with plain
// `node` in a project that installed the packed package; each #region is one sample. PGlite in memory.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  createMessageStore,
  createSubscription,
  defineMessage,
  follow,
  installMessageDb,
  InvalidMessageError,
} from 'message-db-toolkit';
import { createPgliteDatabase } from 'message-db-toolkit/pglite';
import { z } from 'zod';

// #region in-process
const db = await createPgliteDatabase(); // PGlite in this thread: for scripts and tests; a server wants the thread
// #endregion
await installMessageDb(db);
const store = createMessageStore({ db });

// #region messages
const Register = defineMessage('Register', z.object({ userId: z.uuid(), email: z.email() }));
const Registered = defineMessage('Registered', z.object({ userId: z.uuid(), email: z.email() }));
// #endregion

const userId = randomUUID();
const email = 'someone@example.com';
await store.write(`identity:command-${userId}`, {
  ...Register.create({ userId, email }),
  metadata: { traceId: randomUUID(), userId },
});
const [command] = await store.read(`identity:command-${userId}`, { from: 0, max: 1 });

// #region follow
const event = follow(command, Registered.create({ userId, email })); // trace, user and causation copied
const { position } = await store.write(`identity-${userId}`, event, -1);
const [stored] = await store.read(`identity-${userId}`, { from: 0, max: 1 });
const registered = Registered.parse(stored); // typed data; throws InvalidMessageError with the reasons
// #endregion
assert.equal(registered.data.email, email);
assert.equal(stored.metadata.traceId, command.metadata.traceId);
assert.throws(() => Registered.parse({ ...stored, data: { userId } }), InvalidMessageError);

// #region write-and-read
const stream = `identity-${userId}`;
const [first, second] = [1, 2].map((attempt) => ({ id: randomUUID(), type: 'LoginFailed', data: { attempt } }));
await store.writeBatch(stream, [first, second], position); // one transaction, with the expected version
const again = await store.write(stream, first); // an id already in the stream: { alreadyWritten: true }
const fromStream = await store.read(stream, { from: 0, max: 1000 }); // an entity stream, from a stream position
const fromCategory = await store.read('identity', { from: 0, max: 1000 }); // a category, from a global position
const fromAll = await store.read('$all', { from: 0, max: 1000 }); // every message, in commit order
const last = await store.readLastMessage(stream, 'Registered');
const { entity, version } = await store.fetch(stream, {
  $init: () => ({ email: null, failedLogins: 0 }),
  Registered: (user, message) => ({ ...user, email: Registered.parse(message).data.email }),
  LoginFailed: (user) => ({ ...user, failedLogins: user.failedLogins + 1 }),
});
// #endregion
assert.equal(again.alreadyWritten, true);
assert.equal(fromStream.length, 3);
assert.equal(fromCategory.length, 3);
assert.equal(fromAll.length, 4);
assert.equal(last?.id, event.id);
assert.deepEqual(entity, { email, failedLogins: 2 });
assert.equal(version, 2);

// #region consumer-options
const handled = [];
const subscription = createSubscription({
  store,
  streamName: 'identity', // a category, or '$all'
  subscriberId: 'welcome',
  handlers: { Registered: (message) => handled.push(message.id), $any: undefined }, // $any: every other type
  messagesPerTick: 100, // the largest batch read at once
  positionUpdateInterval: 100, // record the position every 100 messages (and at stop)
  maxAttempts: 3, // attempts before a failing message is parked
});
await subscription.start();
await subscription.waitUntilCaughtUp();
await subscription.stop(); // finishes the message in hand, records the position
// #endregion
assert.deepEqual(handled, [event.id]);
await db.close();
console.log('reference samples done');
