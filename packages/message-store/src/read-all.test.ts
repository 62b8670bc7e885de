import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  eventually,
  createTestDatabase,
  descheduledWriter,
  testDatabaseKind,
  uniqueCategory,
  type TestDatabase,
} from './controls/index.js';
import type { Database, Queryable } from './database/port.js';
import type { StoredMessage } from './message.js';
import { createMessageStore, type MessageStore } from './store.js';
import { createSubscription, type Subscription } from './subscription.js';

let test: TestDatabase;
const running: Subscription[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
});
afterAll(() => test.drop());

const onPostgres = testDatabaseKind === 'postgres' ? it : it.skip;

/** A handle on the test database (a process of its own, as far as the toolkit knows) that counts its `$all` reads. */
function processCountingAllReads() {
  let reads = 0;
  const db: Database = {
    ...test.db,
    query: (sql: string, params?: readonly unknown[]) => {
      if (sql.includes('pg_current_snapshot') && sql.includes('LATERAL')) reads++;
      return test.db.query(sql, params);
    },
  };
  return { store: createMessageStore({ db }), reads: () => reads };
}

/** An `$all` consumer in batch mode recording what it applied, in order. */
function consumeAll(store: MessageStore, subscriberId = randomUUID()) {
  const applied: StoredMessage[] = [];
  const subscription = createSubscription({
    store,
    streamName: '$all',
    subscriberId,
    handleBatch: async (messages: StoredMessage[], _tx: Queryable) => void applied.push(...messages),
  });
  running.push(subscription);
  return { subscription, applied };
}

async function writeMessage(db: Pick<Database, 'query'>, streamName: string) {
  await db.query(`SELECT message_store.write_message($1, $2, 'SomethingHappened', '{}'::jsonb)`, [
    randomUUID(),
    streamName,
  ]);
}

const streamsOf = (messages: StoredMessage[], category: string) =>
  messages.filter((message) => message.streamName.startsWith(`${category}-`)).map((message) => message.streamName);

describe("a process's $all consumers", () => {
  it('cost the database one read at the head, however many of them there are', async () => {
    const measure = async (consumers: number) => {
      const process = processCountingAllReads();
      const all = Array.from({ length: consumers }, () => consumeAll(process.store));
      for (const each of all) await each.subscription.start();
      for (const each of all) await each.subscription.waitUntilCaughtUp();
      await sleep(50); // no signal tells when the wake-ups of the consumers' own position records have settled
      const before = process.reads();
      const category = uniqueCategory();
      // Ten bursts of ten, apart: each a wake-up that every consumer answers with a read.
      for (let burst = 0; burst < 10; burst++) {
        await test.db.transaction(async (tx) => {
          for (let each = 0; each < 10; each++) await writeMessage(tx, `${category}-${burst * 10 + each}`);
        });
        await eventually(() => all.every(({ applied }) => streamsOf(applied, category).length === (burst + 1) * 10));
      }
      await eventually(() => all.every(({ applied }) => streamsOf(applied, category).length === 100), {
        timeoutMs: 15_000,
      });
      const reads = process.reads() - before;
      await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
      return reads;
    };
    const alone = await measure(1);
    const four = await measure(4);
    // Reading once per consumer, four would read about four times as often. One shared read answers them all;
    // under load a look that finds a burst half-committed adds a few (37 against 16 alone, at load average 17).
    expect(four).toBeLessThan(alone * 3);
  });

  it('each get every message once and in order: one at the head, one that starts late from the beginning', async () => {
    const process = processCountingAllReads();
    const category = uniqueCategory();
    const head = consumeAll(process.store);
    await head.subscription.start();
    for (let each = 0; each < 1500; each++) {
      // The head consumer reads as they come.
      if (each % 500 === 0) await eventually(() => streamsOf(head.applied, category).length === each);
      await writeMessage(test.db, `${category}-${each}`);
    }
    // Starts at 0: behind the window, it reads on its own until it reaches it.
    const late = consumeAll(process.store);
    await late.subscription.start();
    for (let each = 1500; each < 1600; each++) await writeMessage(test.db, `${category}-${each}`);
    const expected = Array.from({ length: 1600 }, (_, each) => `${category}-${each}`);
    await eventually(() => [head, late].every(({ applied }) => streamsOf(applied, category).length >= 1600), {
      timeoutMs: 15_000,
    });
    for (const { applied } of [head, late]) {
      expect(streamsOf(applied, category)).toEqual(expected);
      const positions = applied.map((message) => message.globalPosition);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(new Set(positions).size).toBe(positions.length);
    }
  });

  onPostgres('never skip a message while writers commit out of order and one rolls back', async () => {
    const process = processCountingAllReads();
    const consumers = [consumeAll(process.store), consumeAll(process.store), consumeAll(process.store)];
    for (const each of consumers) await each.subscription.start();
    const category = uniqueCategory();
    const writers = Array.from({ length: 4 }, () => test.connectAgain());
    const held = new pg.Client({
      connectionString: test.connectionString!,
      options: '-c search_path=message_store,public',
    });
    await held.connect();
    const written: string[] = [];
    try {
      // An early position held open while the others write, then committed; another rolled back. (Message DB
      // locks a category while a write to it is open: the held ones are in a category of their own.)
      const heldCategory = uniqueCategory();
      await held.query('BEGIN');
      await writeMessage(held, `${heldCategory}-held`);
      await held.query('SAVEPOINT before_rollback');
      await writeMessage(held, `${heldCategory}-rolledback`);
      await held.query('ROLLBACK TO SAVEPOINT before_rollback');
      await Promise.all(
        writers.map(async (writer, index) => {
          for (let each = 0; each < 60; each++) {
            const streamName = `${category}-${index}x${each}`;
            await writeMessage(writer, streamName);
            written.push(streamName);
          }
        }),
      );
      const readsBefore = process.reads();
      await eventually(() => process.reads() >= readsBefore + 3); // reads begun after the writes have answered
      for (const { applied } of consumers) expect(streamsOf(applied, category)).toEqual([]); // held behind the open one
      await held.query('COMMIT');
      await eventually(() => consumers.every(({ applied }) => streamsOf(applied, category).length >= written.length), {
        timeoutMs: 15_000,
      });
      for (const { applied } of consumers) {
        expect(streamsOf(applied, category).sort()).toEqual([...written].sort());
        expect(streamsOf(applied, heldCategory)).toEqual([`${heldCategory}-held`]);
        const positions = applied.map((message) => message.globalPosition);
        expect(positions).toEqual([...positions].sort((a, b) => a - b));
      }
    } finally {
      await held.end();
      await Promise.all(writers.map((writer) => writer.close()));
    }
  });
  onPostgres('never skip a message whose writer was descheduled between taking its position and its xid', async () => {
    const process = processCountingAllReads();
    const consumer = consumeAll(process.store);
    await consumer.subscription.start();
    const slow = uniqueCategory();
    const other = uniqueCategory();
    const writer = await descheduledWriter(test.connectionString!, slow);
    try {
      const { written } = await writer.write(`${slow}-1`);
      await writeMessage(test.db, `${other}-1`); // a later position, visible first
      const readsBefore = process.reads();
      await eventually(() => process.reads() >= readsBefore + 15); // many reads, with no transaction holding an xid below the gap
      expect(streamsOf(consumer.applied, other)).toEqual([]); // held behind the writer's position
      await writer.resume();
      await written;
      await eventually(() => streamsOf(consumer.applied, other).length === 1, { timeoutMs: 15_000 });
      expect(streamsOf(consumer.applied, slow)).toEqual([`${slow}-1`]);
      const positions = consumer.applied.map((message) => message.globalPosition);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    } finally {
      await writer.close();
    }
  });
});
