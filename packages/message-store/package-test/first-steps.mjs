// A newcomer's first program on message-db-toolkit, run by src/package.test.ts with plain `node` in a project of
// its own that installed the packed package: install Message DB, write, read, fetch, consume, be woken, share the
// work in a consumer group, park what keeps failing. The README's samples are the #region blocks of this file.
// On PostgreSQL when MESSAGE_STORE_CONNECTION_STRING is set, else on PGlite in memory.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
// #region imports
import { createMessageStore, createSubscription, defineMessage, installMessageDb } from 'message-db-toolkit';
import { createPgliteThreadDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { z } from 'zod';
// #endregion

/** Resolves once `condition()` holds, looking every 5 ms (fails after 10 s). */
async function until(condition) {
  for (const started = performance.now(); !condition(); await sleep(5))
    if (performance.now() - started > 10_000) throw new Error(`Still not true after 10 s: ${condition}`);
}

async function connect() {
  if (process.env.MESSAGE_STORE_CONNECTION_STRING) {
    // #region connect-postgres
    const db = createPostgresDatabase({ connectionString: process.env.MESSAGE_STORE_CONNECTION_STRING });
    // #endregion
    return db;
  }
  // #region connect-pglite
  const db = await createPgliteThreadDatabase(); // in memory; { dataDir: 'data/message-store' } keeps it on disk
  // #endregion
  return db;
}

const db = await connect();
// #region install
await installMessageDb(db); // idempotent: run it at every start
const store = createMessageStore({ db });
// #endregion

// #region first-write
const Deposited = defineMessage('Deposited', z.object({ accountId: z.uuid(), amount: z.number().positive() }));

const accountId = randomUUID();
await store.write(`account-${accountId}`, Deposited.create({ accountId, amount: 10 }), -1); // -1: a new stream
await store.write(`account-${accountId}`, Deposited.create({ accountId, amount: 5 }));
// #endregion

// #region read
const messages = await store.read(`account-${accountId}`, { from: 0, max: 100 }); // from stream position 0, at most 100
const { entity: balance, version } = await store.fetch(`account-${accountId}`, {
  $init: () => 0,
  Deposited: (sum, message) => sum + Deposited.parse(message).data.amount,
});
// balance 15, version 1: the expected version of the next write
// #endregion
assert.deepEqual(
  messages.map((message) => message.data.amount),
  [10, 5],
);
assert.equal(balance, 15);
assert.equal(version, 1);

// #region first-consumer
const amounts = [];
const statements = createSubscription({
  store,
  streamName: 'account', // a category: every `account-…` stream
  subscriberId: 'statements', // its position is kept in `subscriberPosition-statements`
  handlers: {
    Deposited: async (message) => {
      amounts.push(Deposited.parse(message).data.amount);
    },
  },
});
await statements.start();
await statements.waitUntilCaughtUp(); // amounts: [10, 5]
// #endregion
assert.deepEqual(amounts, [10, 5]);

// #region wake-up
const written = performance.now();
await store.write(`account-${accountId}`, Deposited.create({ accountId, amount: 7 }));
await until(() => amounts.includes(7)); // the consumer does not poll: the process's watcher woke it
console.log(`woken: handled ${Math.round(performance.now() - written)} ms after the write`);
// #endregion

// #region consumer-group
const handledBy = new Map();
const auditors = [0, 1].map((member) =>
  createSubscription({
    store,
    streamName: 'account',
    subscriberId: 'audit',
    consumerGroup: { member, size: 2 }, // each stream goes to one member (Message DB hashes its id)
    handlers: { Deposited: (message) => handledBy.set(message.id, member) },
  }),
);
for (const auditor of auditors) await auditor.start();
for (const auditor of auditors) await auditor.waitUntilCaughtUp();
// #endregion
for (let index = 0; index < 8; index++) {
  const another = randomUUID();
  await store.write(`account-${another}`, Deposited.create({ accountId: another, amount: 1 }));
}
for (const auditor of auditors) await auditor.waitUntilCaughtUp();
const deposits = await store.read('account', { from: 0, max: 100 });
assert.equal(handledBy.size, deposits.length, 'every deposit audited once');
assert.deepEqual(new Set(handledBy.values()), new Set([0, 1]), 'both members had work');

// #region parking
const fussy = createSubscription({
  store,
  streamName: 'account',
  subscriberId: 'fussy',
  maxAttempts: 2, // then the message is parked and the consumer moves on
  handlers: {
    Deposited: (message) => {
      if (Deposited.parse(message).data.amount === 5) throw new Error('Five is refused');
    },
  },
});
await fussy.start();
await fussy.waitUntilCaughtUp();
const [parked] = await fussy.parkingLot.list(); // also in the stream `parkedMessages-fussy`
// parked: { messageId, type: 'Deposited', error: 'Error: Five is refused', attempts: 2, state: 'parked', … }
// #endregion
assert.equal(parked?.type, 'Deposited');
assert.match(parked.error, /Five is refused/);
assert.equal(parked.attempts, 2);
assert.equal(parked.state, 'parked');

// #region stop
for (const subscription of [statements, ...auditors, fussy]) await subscription.stop(); // records the positions
await db.close();
// #endregion
console.log(`first steps done on ${db.kind}`);
