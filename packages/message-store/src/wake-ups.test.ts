import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  descheduledWriter,
  eventually,
  exampleMessage,
  testDatabaseKind,
  uniqueCategory,
  type TestDatabase,
} from './controls/index.js';
import type { Database } from './database/port.js';
import { createMessageStore, type MessageStore } from './store.js';
import { createSubscription, type Subscription } from './subscription.js';
import { WAKE_UPS_APPLICATION_NAME, wakeUpsFor, type WatcherOptions } from './wake-ups.js';

let test: TestDatabase;
let store: MessageStore;
/** Another client of the same database, as a third-party writer would be (PGlite: the one session). */
let thirdParty: Database;
const running: Subscription[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
  thirdParty = testDatabaseKind === 'postgres' ? test.connectAgain() : test.db;
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
});
afterAll(() => test.drop());

const onPostgres = testDatabaseKind === 'postgres' ? it : it.skip;

/** A consumer with no poll interval of its own: only wake-ups bring it new messages. */
function consume(streamName: string) {
  const handled: string[] = [];
  let reads = 0;
  const subscription = createSubscription({
    store,
    streamName,
    subscriberId: randomUUID(),
    handlers: { $any: (message) => void handled.push(message.streamName) },
    observer: { handled() {}, position() {}, idle: () => void reads++ },
  });
  running.push(subscription);
  return { streamName, subscription, handled, reads: () => reads };
}

async function writeMessage(db: Pick<Database, 'query'>, streamName: string) {
  await db.query(`SELECT message_store.write_message($1, $2, 'SomethingHappened', '{}'::jsonb)`, [
    randomUUID(),
    streamName,
  ]);
}

async function wakeUpConnections(): Promise<number[]> {
  const rows = await thirdParty.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
    [WAKE_UPS_APPLICATION_NAME],
  );
  return rows.map((row) => row.pid);
}

describe('wake-ups', () => {
  it('wake a caught-up consumer for a message a third party wrote with write_message', async () => {
    const category = uniqueCategory();
    const consumer = consume(category);
    await consumer.subscription.start();
    await consumer.subscription.waitUntilCaughtUp();
    await writeMessage(thirdParty, `${category}-1`);
    await eventually(() => consumer.handled.length === 1);
    expect(consumer.handled).toEqual([`${category}-1`]);
  });

  it('leave idle consumers alone: no reads until their own category is written to', async () => {
    const consumers = Array.from({ length: 5 }, () => consume(uniqueCategory()));
    for (const consumer of consumers) await consumer.subscription.start();
    for (const consumer of consumers) await consumer.subscription.waitUntilCaughtUp();
    // waitUntilCaughtUp wakes consumers itself: let those reads finish before counting.
    await sleep(100);
    const before = consumers.map((consumer) => consumer.reads());
    await sleep(1_500); // what is shown is a quiet span: no reads in it
    expect(consumers.map((consumer) => consumer.reads())).toEqual(before);

    const [first, ...others] = consumers;
    await writeMessage(thirdParty, `${first!.streamName}-1`);
    await eventually(() => first!.handled.length === 1);
    await sleep(100); // no signal for the others: a consumer not woken reports nothing
    expect(others.map((consumer) => consumer.reads())).toEqual(before.slice(1));
  });

  onPostgres('use one connection per process for wake-ups, however many consumers it runs', async () => {
    const categories = Array.from({ length: 12 }, () => uniqueCategory());
    const consumers = [...categories.map((category) => consume(category)), consume('$all')];
    await Promise.all(consumers.map((consumer) => consumer.subscription.start()));
    expect(await wakeUpConnections()).toHaveLength(1);
    for (const category of categories) await writeMessage(thirdParty, `${category}-1`);
    await eventually(() => consumers.slice(0, -1).every((consumer) => consumer.handled.length === 1));
    await eventually(() => consumers.at(-1)!.handled.filter((name) => !name.startsWith('subscriber')).length >= 12);
    expect(await wakeUpConnections()).toHaveLength(1);
    await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
    // The last consumer gone, the watcher lets its connection go.
    await eventually(async () => (await wakeUpConnections()).length === 0);
  });

  onPostgres('see a message whose transaction commits after a later position was already seen', async () => {
    const early = uniqueCategory();
    const late = uniqueCategory();
    const earlyConsumer = consume(early);
    const lateConsumer = consume(late);
    await earlyConsumer.subscription.start();
    await lateConsumer.subscription.start();
    const client = new pg.Client({
      connectionString: test.connectionString!,
      options: '-c search_path=message_store,public',
    });
    await client.connect();
    try {
      await client.query('BEGIN');
      // Takes its global position now, and becomes visible only at COMMIT.
      await client.query(`SELECT message_store.write_message($1, $2, 'SomethingHappened', '{}'::jsonb)`, [
        randomUUID(),
        `${early}-1`,
      ]);
      await writeMessage(thirdParty, `${late}-1`);
      await eventually(() => lateConsumer.handled.length === 1);
      await sleep(200); // no signal: the watcher's looks past the open position are not observable
      expect(earlyConsumer.handled).toEqual([]);
      await client.query('COMMIT');
      await eventually(() => earlyConsumer.handled.length === 1);
    } finally {
      await client.end();
    }
  });

  onPostgres('see a message whose writer was descheduled between taking its position and its xid', async () => {
    const slow = uniqueCategory();
    const other = uniqueCategory();
    const slowConsumer = consume(slow);
    const otherConsumer = consume(other);
    await slowConsumer.subscription.start();
    await otherConsumer.subscription.start();
    const writer = await descheduledWriter(test.connectionString!, slow);
    try {
      const { written } = await writer.write(`${slow}-1`);
      await writeMessage(thirdParty, `${other}-1`); // a later position, visible first
      await eventually(() => otherConsumer.handled.length === 1);
      await sleep(300); // many looks of the watcher, with no transaction holding an xid below the gap
      await writer.resume();
      await written;
      await eventually(() => slowConsumer.handled.length === 1, { timeoutMs: 5_000 });
    } finally {
      await writer.close();
    }
  });

  onPostgres('let $all pass a rolled-back position without waiting for another write', async () => {
    const all = consume('$all');
    await all.subscription.start();
    await all.subscription.waitUntilCaughtUp();
    const rolledBack = uniqueCategory();
    const kept = uniqueCategory();
    const client = new pg.Client({
      connectionString: test.connectionString!,
      options: '-c search_path=message_store,public',
    });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT message_store.write_message($1, $2, 'SomethingHappened', '{}'::jsonb)`, [
        randomUUID(),
        `${rolledBack}-1`,
      ]);
      await writeMessage(thirdParty, `${kept}-1`);
      await sleep(200); // no signal: a consumer held at a gap reads again and again, and reports nothing
      expect(all.handled).not.toContain(`${kept}-1`); // held behind the open transaction's position
      await client.query('ROLLBACK');
      await eventually(() => all.handled.includes(`${kept}-1`));
      expect(all.handled).not.toContain(`${rolledBack}-1`);
    } finally {
      await client.end();
    }
  });

  onPostgres('survive pg_terminate_backend of the watcher connection, also while messages arrive', async () => {
    const category = uniqueCategory();
    const consumer = consume(category);
    await consumer.subscription.start();
    await consumer.subscription.waitUntilCaughtUp();
    const [watcherPid] = await wakeUpConnections();
    expect(watcherPid).toBeDefined();
    let written = 0;
    const writing = (async () => {
      for (; written < 60; written++) {
        await writeMessage(thirdParty, `${category}-${written}`);
        await sleep(5); // messages arriving over a while, not in one burst
      }
    })();
    await eventually(() => consumer.handled.length >= 10);
    await thirdParty.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = $1`,
      [WAKE_UPS_APPLICATION_NAME],
    );
    await writing;
    await eventually(() => consumer.handled.length === 60);
    // Quiet again, with a new watcher connection: a third-party write still wakes the consumer.
    await eventually(async () => {
      const pids = await wakeUpConnections();
      return pids.length === 1 && pids[0] !== watcherPid;
    });
    await writeMessage(thirdParty, `${category}-last`);
    await eventually(() => consumer.handled.length === 61);
  });

  onPostgres(
    'feed consumers of whole categories from what the watcher read: every message once, in order, few reads of their own',
    async () => {
      // A process of its own, counting its category reads.
      let categoryReads = 0;
      const db: Database = {
        ...test.db,
        query: (sql: string, params?: readonly unknown[]) => {
          if (sql.includes('get_category_messages')) categoryReads++;
          return test.db.query(sql, params);
        },
      };
      const processStore = createMessageStore({ db });
      const categories = [uniqueCategory(), uniqueCategory(), uniqueCategory(), uniqueCategory()];
      const handled = new Map<string, number[]>(categories.map((category) => [category, []]));
      for (const category of categories) {
        const subscription = createSubscription({
          store: processStore,
          streamName: category,
          subscriberId: randomUUID(),
          handlers: { $any: (message) => void handled.get(category)!.push(message.globalPosition) },
        });
        running.push(subscription);
        await subscription.start();
      }
      await Promise.all(running.map((subscription) => subscription.waitUntilCaughtUp()));
      const readsBefore = categoryReads;
      // Third parties on four connections, out of order across categories, and one write rolled back.
      const writers = Array.from({ length: 4 }, () => test.connectAgain());
      const perWriter = 150;
      try {
        await Promise.all(
          writers.map(async (writer, index) => {
            for (let each = 0; each < perWriter; each++) {
              await writeMessage(writer, `${categories[(index + each) % categories.length]}-${index}x${each}`);
              if (each === 70)
                await writer
                  .transaction(async (tx) => {
                    await writeMessage(tx, `${categories[index]}-rolledBack`);
                    throw new Error('rolled back');
                  })
                  .catch(() => {});
            }
          }),
        );
        const total = () => [...handled.values()].reduce((sum, positions) => sum + positions.length, 0);
        await eventually(() => total() >= 4 * perWriter);
        await sleep(200); // no signal that nothing more comes; waitUntilCaughtUp would add reads of their own
        expect(total()).toBe(4 * perWriter);
        for (const positions of handled.values()) {
          expect(positions).toHaveLength(perWriter);
          expect(positions).toEqual([...positions].sort((a, b) => a - b));
        }
        // Without the feed each consumer reads after each of its wake-ups (dozens here); fed, about once a second.
        const reads = categoryReads - readsBefore;
        expect(reads).toBeLessThan(4 * 6);
      } finally {
        await Promise.all(writers.map((writer) => writer.close()));
      }
    },
  );

  it("wake an idle watcher at once for this process's own writes, not at its next idle look", async () => {
    const handle: Database = { ...test.db };
    const category = uniqueCategory();
    let woken = 0;
    // Idle, it looks again after 20, 40, 80 … ms, up to a minute: at 4 s its next look is at about 5.1 s.
    const stop = await wakeUpsFor(handle, { busyIntervalMs: 20, idleIntervalMs: 60_000 }).subscribe(
      category,
      () => void woken++,
    );
    try {
      await sleep(4_000); // the watcher's idle looks grow apart with time itself
      woken = 0; // the watcher's announcement on start
      const writtenAt = performance.now();
      await createMessageStore({ db: handle }).write(`${category}-1`, exampleMessage());
      await eventually(() => woken === 1, { timeoutMs: 2_000 });
      expect(performance.now() - writtenAt).toBeLessThan(700);
    } finally {
      await stop();
    }
  });

  describe('announcing a busy category together', () => {
    /** A watcher of its own (wake-ups are one per database handle), with these options. */
    async function listen(category: string, options: WatcherOptions) {
      const handle: Database = { ...test.db };
      const woken: number[] = [];
      const stop = await wakeUpsFor(handle, options).subscribe(category, () => void woken.push(performance.now()));
      return { woken, stop };
    }

    it('wake at once for the first write after a quiet spell, then at most once per coalescing time', async () => {
      const category = uniqueCategory();
      const listener = await listen(category, { coalesceMs: 60_000 });
      try {
        await sleep(50); // no signal tells when the watcher's first look is over
        listener.woken.length = 0; // the watcher's announcement on start
        await writeMessage(thirdParty, `${category}-1`);
        await eventually(() => listener.woken.length === 1);
        for (let each = 2; each <= 20; each++) await writeMessage(thirdParty, `${category}-${each}`);
        await sleep(500); // what is shown is wake-ups that do not come
        expect(listener.woken).toHaveLength(1); // the other 19 wait for the next turn, 60 s later
      } finally {
        await listener.stop();
      }
    });

    it("take $all's turns less often than a category's, without holding the category back", async () => {
      const category = uniqueCategory();
      const handle: Database = { ...test.db };
      const wakeUps = wakeUpsFor(handle, { coalesceMs: 20, allCoalesceMs: 60_000 });
      const woken = { all: 0, category: 0 };
      const stops = [
        await wakeUps.subscribe('$all', () => void woken.all++),
        await wakeUps.subscribe(category, () => void woken.category++),
      ];
      try {
        await sleep(50); // no signal tells when the watcher's first look is over
        woken.all = woken.category = 0; // the watcher's announcement on start
        for (let each = 1; each <= 10; each++) {
          await writeMessage(thirdParty, `${category}-${each}`);
          await sleep(40); // writes apart, each in a turn of its own
        }
        await sleep(100); // what is shown is $all's turn not coming
        expect(woken.all).toBe(0); // $all's turn came with the start's announcement: the next is 60 s later
        expect(woken.category).toBeGreaterThanOrEqual(5); // every 20 ms, not kept waiting by $all's timer
      } finally {
        for (const stop of stops) await stop();
      }
    });

    it('announce writes that came during the coalescing time when it ends, with no further write', async () => {
      const category = uniqueCategory();
      const listener = await listen(category, { coalesceMs: 400 });
      try {
        await sleep(450); // past the coalescing time of the start's announcement
        listener.woken.length = 0;
        await writeMessage(thirdParty, `${category}-1`);
        await eventually(() => listener.woken.length === 1);
        await writeMessage(thirdParty, `${category}-2`);
        await eventually(() => listener.woken.length === 2);
        expect(listener.woken[1]! - listener.woken[0]!).toBeGreaterThanOrEqual(395);
      } finally {
        await listener.stop();
      }
    });

    it('keep a consumer of a busy category reading in batches, with every message handled', async () => {
      const category = uniqueCategory();
      let reads = 0;
      const countingStore: MessageStore = {
        ...store,
        read: (...args: Parameters<MessageStore['read']>) => {
          reads++;
          return store.read(...args);
        },
      };
      const handled: string[] = [];
      const subscription = createSubscription({
        store: countingStore,
        streamName: category,
        subscriberId: randomUUID(),
        handlers: { $any: (message) => void handled.push(message.id) },
      });
      running.push(subscription);
      await subscription.start();
      await subscription.waitUntilCaughtUp();
      await sleep(50); // waitUntilCaughtUp wakes the consumer itself: no signal tells when those reads are over
      const readsBefore = reads;
      const started = performance.now();
      for (let each = 0; each < 200; each++) await writeMessage(thirdParty, `${category}-${each}`);
      const writingMs = performance.now() - started;
      await eventually(() => handled.length === 200);
      // The default coalescing time is 20 ms: about one read per turn while the writes go on.
      expect(reads - readsBefore).toBeLessThanOrEqual(Math.ceil(writingMs / 20) + 3);
      expect(new Set(handled).size).toBe(200);
    });
  });
});
