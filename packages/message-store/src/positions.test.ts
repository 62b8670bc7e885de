import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createFreshPostgresDatabase,
  createTestDatabase,
  eventually,
  exampleMessages,
  TEST_POSTGRES_URL,
  uniqueCategory,
  type TestDatabase,
  testPgliteTemplate,
} from './controls/index.js';
import { createPgliteDatabase } from './database/pglite.js';
import type { Database, Queryable } from './database/port.js';
import { createPostgresDatabase } from './database/postgres.js';
import type { StoredMessage } from './message.js';
import { positionStreamName, tablePositions, type TablePositionStore } from './positions.js';
import { createMessageStore, type MessageStore } from './store.js';
import { createSubscription, type Subscription } from './subscription.js';

/**
 * A consumer whose own data lives in another database than the message store (PostgreSQL: a second
 * fresh database on the server; PGlite: a second in-memory instance), keeping its position there.
 */
let test: TestDatabase;
let store: MessageStore;
let other: { db: Database; drop: () => Promise<void> };
const running: Subscription[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
  if (TEST_POSTGRES_URL) {
    const fresh = await createFreshPostgresDatabase(TEST_POSTGRES_URL, 'positions_test');
    const db = createPostgresDatabase({ connectionString: fresh.connectionString, max: 3 });
    other = {
      db,
      drop: async () => {
        await db.close();
        await fresh.drop();
      },
    };
  } else {
    const db = await createPgliteDatabase({ loadDataDir: await testPgliteTemplate() });
    other = { db, drop: () => db.close() };
  }
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
});
afterAll(async () => {
  await other.drop();
  await test.drop();
});

/** A fresh rows table and positions table in the other database: no unique key, so a double apply shows. */
async function freshTarget() {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
  const rowsTable = `applied_${suffix}`;
  await other.db.exec(`CREATE TABLE ${rowsTable} (message_id uuid NOT NULL, global_position bigint NOT NULL)`);
  const positions = tablePositions(other.db, { table: `positions_${suffix}` });
  await positions.ensure();
  const apply = async (messages: StoredMessage[], tx: Queryable) => {
    await tx.query(`INSERT INTO ${rowsTable} SELECT * FROM unnest($1::uuid[], $2::bigint[])`, [
      messages.map((message) => message.id),
      messages.map((message) => message.globalPosition),
    ]);
  };
  const applied = async () =>
    (
      await other.db.query<{ message_id: string; times: number }>(
        `SELECT message_id, count(*)::int AS times FROM ${rowsTable} GROUP BY message_id ORDER BY min(global_position)`,
      )
    ).map((row) => ({ id: row.message_id, times: row.times }));
  return { rowsTable, positions, apply, applied };
}

async function writeMessages(category: string, count: number) {
  const written: string[] = [];
  for (const message of exampleMessages(count)) {
    await store.write(`${category}-${randomUUID()}`, message);
    written.push(message.id);
  }
  return written;
}

function consumer(options: {
  category: string;
  subscriberId: string;
  positions: TablePositionStore;
  apply: (messages: StoredMessage[], tx: Queryable) => Promise<unknown>;
  messagesPerTick?: number;
}) {
  const subscription = createSubscription({
    store,
    streamName: options.category,
    subscriberId: options.subscriberId,
    positions: options.positions,
    handleBatch: options.apply,
    tickIntervalMs: 50,
    retryDelayMs: 1,
    ...(options.messagesPerTick ? { messagesPerTick: options.messagesPerTick } : {}),
  });
  running.push(subscription);
  return subscription;
}

describe('positions kept in a table of the consumer’s own database', () => {
  it('an empty database starts from 0 whatever the message store remembers, and applies all history', async () => {
    const category = uniqueCategory();
    const subscriberId = `aggregators:${category}`;
    const written = await writeMessages(category, 56);
    // What an older deployment left: a Read at the head of the category.
    const [last] = await store.read(category, { from: 1, max: 1000 }).then((messages) => messages.slice(-1));
    await store.write(positionStreamName(subscriberId), {
      id: randomUUID(),
      type: 'Read',
      data: { position: last!.globalPosition },
    });
    const target = await freshTarget();
    const subscription = consumer({ category, subscriberId, ...target });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(await target.applied()).toEqual(written.map((id) => ({ id, times: 1 })));
    expect(await target.positions.read({ subscriberId })).toBe(last!.globalPosition);
    // Nothing written into the message store: the old Read is still the last one.
    expect((await store.readLastMessage(positionStreamName(subscriberId)))?.data.position).toBe(last!.globalPosition);
  });

  it('a restored backup resumes from its own position: nothing skipped, nothing applied twice', async () => {
    const category = uniqueCategory();
    const subscriberId = `aggregators:${category}`;
    const target = await freshTarget();
    const first = await writeMessages(category, 10);
    let subscription = consumer({ category, subscriberId, ...target });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    // The backup: the rows and the positions row, taken together.
    const backupRows = await other.db.query(`SELECT * FROM ${target.rowsTable}`);
    const backupPosition = await target.positions.read({ subscriberId });
    expect(backupRows).toHaveLength(10);

    const later = await writeMessages(category, 7);
    subscription = consumer({ category, subscriberId, ...target });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    expect(await target.applied()).toHaveLength(17);

    // Restored: the rows and the position as they were at the backup.
    await other.db.transaction(async (tx) => {
      await tx.query(`DELETE FROM ${target.rowsTable}`);
      await tx.query(
        `INSERT INTO ${target.rowsTable} SELECT * FROM jsonb_populate_recordset(NULL::${target.rowsTable}, $1)`,
        [JSON.stringify(backupRows)],
      );
      await target.positions.write({ subscriberId }, backupPosition, tx);
    });
    subscription = consumer({ category, subscriberId, ...target });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(await target.applied()).toEqual([...first, ...later].map((id) => ({ id, times: 1 })));
  });

  it('a batch that fails rolls back its rows and its position together', async () => {
    const category = uniqueCategory();
    const subscriberId = `aggregators:${category}`;
    const target = await freshTarget();
    const written = await writeMessages(category, 20);
    let outage = true;
    let attempts = 0;
    const subscription = consumer({
      category,
      subscriberId,
      positions: target.positions,
      apply: async (messages, tx) => {
        await target.apply(messages, tx);
        // Rows are in, the position is not yet: the connection goes (a transient failure, retried).
        if (outage) {
          attempts++;
          throw Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' });
        }
      },
    });
    await subscription.start();
    await eventually(() => attempts >= 2);
    expect(await target.applied()).toEqual([]);
    expect(await target.positions.read({ subscriberId })).toBe(0);
    outage = false;
    await subscription.waitUntilCaughtUp();
    expect(await target.applied()).toEqual(written.map((id) => ({ id, times: 1 })));
  });

  it('parks a message that keeps failing, in the consumer’s database the batch’s other rows commit once', async () => {
    const category = uniqueCategory();
    const subscriberId = `aggregators:${category}`;
    const target = await freshTarget();
    const written = await writeMessages(category, 8);
    const poison = written[3]!;
    const subscription = consumer({
      category,
      subscriberId,
      positions: target.positions,
      apply: async (messages, tx) => {
        await target.apply(messages, tx);
        if (messages.some((message) => message.id === poison)) throw new Error('cannot apply this one');
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(await target.applied()).toEqual(written.filter((id) => id !== poison).map((id) => ({ id, times: 1 })));
    expect((await subscription.parkingLot.list()).map((parked) => parked.messageId)).toEqual([poison]);
    const [last] = (await store.read(category, { from: 1, max: 100 })).slice(-1);
    expect(await target.positions.read({ subscriberId })).toBe(last!.globalPosition);
  });

  it.runIf(TEST_POSTGRES_URL)('survives losing its database’s connections while busy: nothing skipped', async () => {
    const category = uniqueCategory();
    const subscriberId = `aggregators:${category}`;
    const target = await freshTarget();
    // Idempotent, as an aggregator is: a commit whose acknowledgement was lost may be applied again.
    await other.db.exec(`ALTER TABLE ${target.rowsTable} ADD PRIMARY KEY (message_id)`);
    const written = await writeMessages(category, 300);
    let batches = 0;
    const subscription = consumer({
      category,
      subscriberId,
      positions: target.positions,
      messagesPerTick: 10,
      apply: async (messages, tx) => {
        batches++;
        await tx.query(
          `INSERT INTO ${target.rowsTable} SELECT * FROM unnest($1::uuid[], $2::bigint[]) ON CONFLICT DO NOTHING`,
          [messages.map((message) => message.id), messages.map((message) => message.globalPosition)],
        );
      },
    });
    await subscription.start();
    for (const at of [3, 10, 18]) {
      await eventually(() => batches >= at, { intervalMs: 5 });
      await other.db.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
    }
    await subscription.waitUntilCaughtUp();
    expect(await target.applied()).toEqual(written.map((id) => ({ id, times: 1 })));
    const [last] = (await store.read(category, { from: 1, max: 1000 })).slice(-1);
    expect(await target.positions.read({ subscriberId })).toBe(last!.globalPosition);
  });

  it('refuses a table name that is not a plain identifier', () => {
    expect(() => tablePositions(other.db, { table: 'positions; DROP TABLE x' })).toThrow(/plain lower-case/);
    expect(() => tablePositions(other.db, { table: 'Positions' })).toThrow(/plain lower-case/);
    expect(tablePositions(other.db, { table: 'view_data.positions' }).table).toBe('view_data.positions');
  });
});
