import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  testSubscriptions,
  eventually,
  exampleMessage,
  exampleMessages,
  testDatabaseKind,
  uniqueCategory,
  type TestDatabase,
} from './controls/index.js';
import { z } from 'zod';
import type { Database, Row } from './database/port.js';
import { defineMessage } from './message.js';
import type { StoredMessage } from './message.js';
import { messageStorePositions, type PositionStore } from './positions.js';
import { createMessageStore, type MessageStore } from './store.js';
import { createSubscription, positionStreamName, type SubscriptionObserver } from './subscription.js';

let test: TestDatabase;
let store: MessageStore;
const subscriptions = testSubscriptions(() => store);
const { subscribe } = subscriptions;

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterEach(() => subscriptions.stopAll());
afterAll(() => test.drop());

/**
 * A store over the test database that keeps the reads `isWatched` picks (to await them), and can hold
 * the next such read back once the database has answered it: its snapshot is taken, its answer not given.
 */
function storeWatchingReads(isWatched: (sql: string) => boolean) {
  const reads: Promise<unknown>[] = [];
  let holding: { ran: (release: () => void) => void } | null = null;
  const watchingStore = createMessageStore({
    db: {
      ...test.db,
      query: <R extends Row = Row>(sql: string, params?: readonly unknown[]) => {
        const rows = test.db.query<R>(sql, params);
        if (!isWatched(sql)) return rows;
        reads.push(rows);
        const hold = holding;
        if (!hold) return rows;
        holding = null; // one read only
        return rows.then(async (result) => {
          await new Promise<void>((release) => hold.ran(release));
          return result;
        });
      },
    },
  });
  /** Holds the next read back; resolves once the database has answered it, with the way to let the answer through. */
  const holdNextRead = () => new Promise<() => void>((ran) => (holding = { ran }));
  return { watchingStore, reads, holdNextRead };
}

/** An observer, and a promise that resolves when its consumer first finds nothing new to read. */
function firstIdle() {
  let wentIdle: () => void = () => {};
  const idle = new Promise<void>((resolve) => (wentIdle = resolve));
  const observer: SubscriptionObserver = { position() {}, idle: () => wentIdle() };
  return { observer, idle };
}

async function writeTo(category: string, count: number, type = 'SomethingHappened') {
  for (const message of exampleMessages(count, () => ({ type })))
    await store.write(`${category}-${randomUUID()}`, message);
}

describe('a category subscription', () => {
  /** A store whose category reads are recorded, each with the promise of its rows. */
  function storeCountingReads() {
    const reads: Promise<unknown>[] = [];
    const counting = createMessageStore({
      db: {
        ...test.db,
        query: <R extends Row = Row>(sql: string, params?: readonly unknown[]) => {
          const rows = test.db.query<R>(sql, params);
          if (sql.includes('get_category_messages')) reads.push(rows);
          return rows;
        },
      },
    });
    return { counting, reads };
  }

  it('records its position while it handles the next messages, never past what it handled', async () => {
    const category = uniqueCategory();
    await writeTo(category, 30);
    const real = messageStorePositions(store);
    const handled: number[] = [];
    const recorded: { position: number; handledWhenAsked: number; handledWhenDone: number }[] = [];
    // The message store's own position records, each taking 300 ms to commit (as a slow disk would).
    const slowToCommit: PositionStore = {
      ...real,
      async write(owner, position, tx) {
        const handledWhenAsked = handled.length;
        await sleep(300);
        await real.write(owner, position, tx);
        recorded.push({ position, handledWhenAsked, handledWhenDone: handled.length });
      },
    };
    const subscriberId = randomUUID();
    const subscription = subscribe({
      subscriberId,
      streamName: category,
      positions: slowToCommit,
      positionUpdateInterval: 10,
      handlers: { $any: (message) => void handled.push(message.globalPosition) },
    });
    await subscription.start();
    await eventually(() => handled.length === 30);
    await subscription.waitUntilCaughtUp();
    // The record asked for after 10 messages was still committing while the next 20 were handled.
    expect(recorded[0]).toMatchObject({ position: handled[9], handledWhenAsked: 10 });
    expect(recorded[0]!.handledWhenDone).toBeGreaterThanOrEqual(20);
    for (const record of recorded) expect(record.position).toBeLessThanOrEqual(handled[record.handledWhenAsked - 1]!);
    // Caught up means recorded: the last position is in the store.
    expect(recorded.map((record) => record.position)).toEqual([handled[9], handled[19], handled[29]]);
    expect(await real.read({ subscriberId })).toBe(handled[29]);
  });

  it('reads the next batch while a full batch is handled', async () => {
    const category = uniqueCategory();
    await writeTo(category, 4);
    const { counting, reads } = storeCountingReads();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: number[] = [];
    const subscription = subscribe({
      store: counting,
      streamName: category,
      messagesPerTick: 2,
      wakeUps: false,
      handlers: {
        $any: async (message) => {
          await gate;
          handled.push(message.globalPosition);
        },
      },
    });
    await subscription.start();
    await eventually(() => reads.length >= 2);
    expect(handled).toEqual([]); // the second read started while the first batch waits in its handler
    release();
    await subscription.waitUntilCaughtUp();
    expect(handled).toHaveLength(4);
  });

  it('is not caught up by a read ahead that started before a message was written', async () => {
    const category = uniqueCategory();
    await writeTo(category, 2);
    const { counting, reads } = storeCountingReads();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const handled: string[] = [];
    const late = exampleMessage();
    const subscription = subscribe({
      store: counting,
      streamName: category,
      messagesPerTick: 2,
      wakeUps: false,
      tickIntervalMs: 60_000, // caught up only by a read that waitUntilCaughtUp wakes
      handlers: {
        $any: async (message) => {
          await gate;
          if (message.id === late.id) await sleep(100); // longer than waitUntilCaughtUp's 5 ms checks
          handled.push(message.id);
        },
      },
    });
    await subscription.start();
    await eventually(() => reads.length >= 2);
    await reads[1]; // the read ahead found nothing
    await store.write(`${category}-${randomUUID()}`, late);
    const caughtUp = subscription.waitUntilCaughtUp();
    release();
    await caughtUp;
    expect(handled).toContain(late.id);
  });

  it('hands each message to the handler of its type, $any to the rest, and passes over others', async () => {
    const category = uniqueCategory();
    await store.write(`${category}-1`, exampleMessage({ type: 'Handled' }));
    await store.write(`${category}-1`, exampleMessage({ type: 'Other' }));
    await store.write(`${category}-2`, exampleMessage({ type: 'Handled' }));
    const handled: string[] = [];
    const withoutAny = subscribe({ streamName: category, handlers: { Handled: (m) => void handled.push(m.type) } });
    await withoutAny.start();
    await withoutAny.waitUntilCaughtUp();
    expect(handled).toEqual(['Handled', 'Handled']);

    const seen: string[] = [];
    const withAny = subscribe({
      streamName: category,
      handlers: { Handled: () => void seen.push('handler'), $any: (m) => void seen.push(`any:${m.type}`) },
    });
    await withAny.start();
    await withAny.waitUntilCaughtUp();
    expect(seen).toEqual(['handler', 'any:Other', 'handler']);
  });

  it('stores its position the book way and resumes after a restart', async () => {
    const category = uniqueCategory();
    const subscriberId = randomUUID();
    await writeTo(category, 5);
    const handled: StoredMessage[] = [];
    const first = subscribe({
      streamName: category,
      subscriberId,
      positionUpdateInterval: 2,
      handlers: { $any: (m) => void handled.push(m) },
    });
    await first.start();
    await first.waitUntilCaughtUp();
    await first.stop();
    const last = await store.readLastMessage(positionStreamName(subscriberId));
    expect(last?.type).toBe('Read');
    expect(last?.data.position).toBe(handled[4]!.globalPosition);

    await writeTo(category, 3);
    const second = subscribe({ streamName: category, subscriberId, handlers: { $any: (m) => void handled.push(m) } });
    await second.start();
    await second.waitUntilCaughtUp();
    expect(handled).toHaveLength(8);
    expect(new Set(handled.map((m) => m.id)).size).toBe(8);
  });

  it('reads only messages whose origin is in the given category, filtered by Message DB', async () => {
    const category = uniqueCategory();
    await store.write(`${category}-1`, exampleMessage({ metadata: { originStreamName: 'identity-1' } }));
    await store.write(`${category}-2`, exampleMessage({ metadata: { originStreamName: 'other-1' } }));
    await store.write(`${category}-3`, exampleMessage({ metadata: { originStreamName: 'identity-2' } }));
    await store.write(`${category}-4`, exampleMessage());
    const handled: string[] = [];
    const subscription = subscribe({
      streamName: category,
      originStreamName: 'identity',
      handlers: { $any: (m) => void handled.push(m.streamName) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(handled).toEqual([`${category}-1`, `${category}-3`]);
  });

  it('with originWithoutCorrelation, also reads messages that name their origin only in originStreamName', async () => {
    const category = uniqueCategory();
    await store.write(`${category}-1`, exampleMessage({ metadata: { originStreamName: 'identity-1' } }));
    // The book's code writes the origin only, with plain SQL.
    for (const [id, origin] of [
      ['2', 'identity-2'],
      ['3', 'other-1'],
    ])
      await test.db.query('SELECT message_store.write_message($1, $2, $3, $4, $5)', [
        randomUUID(),
        `${category}-${id}`,
        'SomethingHappened',
        '{}',
        JSON.stringify({ originStreamName: origin }),
      ]);
    await store.write(`${category}-4`, exampleMessage({ metadata: { originStreamName: 'other-2' } }));
    const handled: string[] = [];
    const subscription = subscribe({
      streamName: category,
      originStreamName: 'identity',
      originWithoutCorrelation: true,
      handlers: { $any: (m) => void handled.push(m.streamName) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(handled).toEqual([`${category}-1`, `${category}-2`]);
  });

  it('is woken by a write instead of waiting for its next poll', async () => {
    const category = uniqueCategory();
    const handled: StoredMessage[] = [];
    const { observer, idle } = firstIdle();
    const subscription = subscribe({
      streamName: category,
      tickIntervalMs: 60_000,
      observer,
      handlers: { $any: (m) => void handled.push(m) },
    });
    await subscription.start();
    await idle; // idle, it waits a minute for its next poll
    await store.write(`${category}-1`, exampleMessage());
    await eventually(() => handled.length === 1, { timeoutMs: 10_000 });
  });

  it('wakes for messages written with plain SQL too', async () => {
    const category = uniqueCategory();
    const handled: StoredMessage[] = [];
    const { observer, idle } = firstIdle();
    const subscription = subscribe({
      streamName: category,
      tickIntervalMs: 60_000,
      observer,
      handlers: { $any: (m) => void handled.push(m) },
    });
    await subscription.start();
    await idle;
    await test.db.query(`SELECT message_store.write_message(gen_random_uuid()::text, $1, 'ByHand', '{}'::jsonb)`, [
      `${category}-1`,
    ]);
    await eventually(() => handled.length === 1, { timeoutMs: 10_000 });
    expect(handled[0]?.type).toBe('ByHand');
  });
});

describe('carrying on a predecessor’s work (continuesFrom)', () => {
  /** A position record exactly as the book's JavaScript writes it: `Read { position }`, a random id, no metadata. */
  const writeBookPosition = (subscriberId: string, position: number) =>
    test.db.query('SELECT message_store.write_message($1, $2, $3, $4, $5, $6)', [
      randomUUID(),
      `subscriberPosition-${subscriberId}`,
      'Read',
      JSON.stringify({ position }),
      null,
      null,
    ]);
  const recordsIn = async (streamName: string) => (await store.read(streamName)).map((record) => record.data.position);

  it('starts after the predecessor’s position, never writes to its stream, and later resumes from its own', async () => {
    const category = uniqueCategory();
    const bookId = `components:${randomUUID()}`;
    const ownId = `ours:${randomUUID()}`;
    await writeTo(category, 5);
    const written = await store.read(category, { from: 0, max: 100 });
    await writeBookPosition(bookId, written[2]!.globalPosition);
    const handled: string[] = [];
    const handlers = { $any: (m: StoredMessage) => void handled.push(m.id) };

    const first = subscribe({ streamName: category, subscriberId: ownId, continuesFrom: bookId, handlers });
    await first.start();
    await first.waitUntilCaughtUp();
    await first.stop();
    expect(handled).toEqual(written.slice(3).map((m) => m.id));
    expect(await recordsIn(positionStreamName(bookId))).toEqual([written[2]!.globalPosition]);
    expect((await store.readLastMessage(positionStreamName(ownId)))?.data.position).toBe(written[4]!.globalPosition);

    // The book runs on and records a position further on; ours resumes from its own.
    await writeTo(category, 3);
    const more = (await store.read(category, { from: 0, max: 100 })).slice(5);
    await writeBookPosition(bookId, more[2]!.globalPosition);
    const second = subscribe({ streamName: category, subscriberId: ownId, continuesFrom: bookId, handlers });
    await second.start();
    await second.waitUntilCaughtUp();
    await second.stop();
    expect(handled).toEqual([...written.slice(3), ...more].map((m) => m.id));
    expect(await recordsIn(positionStreamName(bookId))).toEqual([written[2]!.globalPosition, more[2]!.globalPosition]);
  });

  it('records the position it took over at once, so a restart before any work does not take it again', async () => {
    const category = uniqueCategory();
    const bookId = `components:${randomUUID()}`;
    const ownId = `ours:${randomUUID()}`;
    await writeTo(category, 2);
    const written = await store.read(category, { from: 0, max: 100 });
    await writeBookPosition(bookId, written[1]!.globalPosition);
    const handledFirst: string[] = [];
    const idle = subscribe({
      streamName: category,
      subscriberId: ownId,
      continuesFrom: bookId,
      handlers: { $any: (m) => void handledFirst.push(m.id) },
    });
    await idle.start();
    await idle.waitUntilCaughtUp();
    await idle.stop();
    expect(handledFirst).toEqual([]);
    expect(await recordsIn(positionStreamName(ownId))).toEqual([written[1]!.globalPosition]);

    await writeTo(category, 1);
    await writeBookPosition(bookId, (await store.read(category, { from: 0, max: 100 }))[2]!.globalPosition);
    const handled: string[] = [];
    const again = subscribe({
      streamName: category,
      subscriberId: ownId,
      continuesFrom: bookId,
      handlers: { $any: (m) => void handled.push(m.id) },
    });
    await again.start();
    await again.waitUntilCaughtUp();
    expect(handled).toHaveLength(1);
  });

  it('takes the first predecessor that recorded a position, in the order given; from 0 when none did', async () => {
    const category = uniqueCategory();
    await writeTo(category, 4);
    const written = await store.read(category, { from: 0, max: 100 });
    const [silent, preferred, other] = [randomUUID(), randomUUID(), randomUUID()];
    await writeBookPosition(preferred, written[1]!.globalPosition);
    await writeBookPosition(other, written[2]!.globalPosition);
    const handled: string[] = [];
    const first = subscribe({
      streamName: category,
      continuesFrom: [silent, preferred, other],
      handlers: { $any: (m) => void handled.push(m.id) },
    });
    await first.start();
    await first.waitUntilCaughtUp();
    expect(handled).toEqual(written.slice(2).map((m) => m.id));

    const fromStart: string[] = [];
    const none = subscribe({
      streamName: category,
      continuesFrom: silent,
      handlers: { $any: (m) => void fromStart.push(m.id) },
    });
    await none.start();
    await none.waitUntilCaughtUp();
    expect(fromStart).toEqual(written.map((m) => m.id));
  });

  it('as a group member, takes that member’s position under the predecessor’s id, else the ungrouped one', async () => {
    const category = uniqueCategory();
    await writeTo(category, 40);
    const written = await store.read(category, { from: 0, max: 100 });
    const bookId = randomUUID();
    const middle = written[19]!.globalPosition;
    await writeBookPosition(bookId, middle);
    await writeBookPosition(`${bookId}+1of2`, written[29]!.globalPosition);
    const handledBy = new Map<number, StoredMessage[]>([
      [0, []],
      [1, []],
    ]);
    const members = [0, 1].map((member) =>
      subscribe({
        streamName: category,
        continuesFrom: bookId,
        consumerGroup: { member, size: 2 },
        handlers: { $any: (m) => void handledBy.get(member)!.push(m) },
      }),
    );
    await Promise.all(members.map((member) => member.start()));
    await Promise.all(members.map((member) => member.waitUntilCaughtUp()));
    expect(handledBy.get(0)!.length).toBeGreaterThan(0);
    expect(handledBy.get(0)!.every((m) => m.globalPosition > middle)).toBe(true);
    expect(handledBy.get(1)!.every((m) => m.globalPosition > written[29]!.globalPosition)).toBe(true);
  });

  it('cannot continue from itself', () => {
    expect(() =>
      createSubscription({ store, streamName: uniqueCategory(), subscriberId: 'x', continuesFrom: 'x' }),
    ).toThrow(/cannot continue from its own position/);
  });
});

describe('stop', () => {
  it('finishes the message in hand, records the position and handles nothing more', async () => {
    const category = uniqueCategory();
    const subscriberId = randomUUID();
    await writeTo(category, 3);
    const finished: StoredMessage[] = [];
    let entered: () => void = () => {};
    const inHand = new Promise<void>((resolve) => (entered = resolve));
    const subscription = subscribe({
      streamName: category,
      subscriberId,
      positionUpdateInterval: 100,
      handlers: {
        $any: async (m) => {
          entered();
          await sleep(200);
          finished.push(m);
        },
      },
    });
    await subscription.start();
    await inHand;
    await subscription.stop();
    expect(finished).toHaveLength(1);
    const position = await store.readLastMessage(positionStreamName(subscriberId));
    expect(position?.data.position).toBe(finished[0]!.globalPosition);
  });
});

describe('consumer groups', () => {
  it('splits a category among fixed members: no message to two members, none to nobody', async () => {
    const category = uniqueCategory();
    await writeTo(category, 60);
    const handledBy = new Map<string, number[]>();
    const subscriberId = randomUUID();
    const members = [0, 1, 2].map((member) =>
      subscribe({
        streamName: category,
        subscriberId,
        consumerGroup: { member, size: 3 },
        handlers: { $any: (m) => void handledBy.set(m.id, [...(handledBy.get(m.id) ?? []), member]) },
      }),
    );
    await Promise.all(members.map((member) => member.start()));
    await Promise.all(members.map((member) => member.waitUntilCaughtUp()));
    expect(handledBy.size).toBe(60);
    expect([...handledBy.values()].every((by) => by.length === 1)).toBe(true);
    expect(new Set([...handledBy.values()].flat()).size).toBe(3);
    // A stream's messages always go to the same member.
    const messages = await store.read(category, { from: 0, max: 100 });
    for (const message of messages) {
      const sameStream = messages.filter((other) => other.streamName === message.streamName);
      expect(new Set(sameStream.map((other) => handledBy.get(other.id)![0])).size).toBe(1);
    }
  });

  it('claims free member slots by itself and takes over a stopped instance’s slots', async () => {
    const category = uniqueCategory();
    const subscriberId = randomUUID();
    const handledBy = new Map<string, string[]>();
    // On PostgreSQL each instance is its own connection pool, as separate processes would be.
    const instanceDatabases: Database[] =
      testDatabaseKind === 'postgres' ? [test.connectAgain(), test.connectAgain()] : [test.db, test.db];
    const instances = instanceDatabases.map((db, index) => {
      const subscription = subscribe({
        store: createMessageStore({ db }),
        streamName: category,
        subscriberId,
        consumerGroup: { size: 4, claim: 'auto', claimIntervalMs: 100 },
        handlers: { $any: (m) => void handledBy.set(m.id, [...(handledBy.get(m.id) ?? []), `i${index}`]) },
      });
      return subscription;
    });
    await instances[0]!.start();
    await eventually(() => instances[0]!.members().length === 4);
    await instances[1]!.start();
    // The first gives back what is above its fair share; the second takes it.
    await eventually(() => instances[0]!.members().length === 2 && instances[1]!.members().length === 2);
    const all = [...instances[0]!.members(), ...instances[1]!.members()].sort();
    expect(all).toEqual([0, 1, 2, 3]);

    await writeTo(category, 40);
    await Promise.all(instances.map((instance) => instance.waitUntilCaughtUp()));
    expect(handledBy.size).toBe(40);

    // One instance goes away: the other takes over its slots and nothing is lost.
    await instances[1]!.stop();
    await eventually(() => instances[0]!.members().length === 4);
    await writeTo(category, 40);
    await instances[0]!.waitUntilCaughtUp();
    expect(handledBy.size).toBe(80);
  });
});

describe('failures', () => {
  it('parks a message that keeps failing, moves on, and retries it on request', async () => {
    const category = uniqueCategory();
    const poison = exampleMessage({ type: 'Poison' });
    await store.write(`${category}-1`, exampleMessage());
    await store.write(`${category}-2`, poison);
    await store.write(`${category}-3`, exampleMessage());
    let cured = false;
    const attempts: string[] = [];
    const handled: string[] = [];
    const subscriberId = randomUUID();
    const subscription = subscribe({
      streamName: category,
      subscriberId,
      maxAttempts: 3,
      handlers: {
        $any: (m) => {
          attempts.push(m.type);
          if (m.type === 'Poison' && !cured) throw new Error('cannot handle this');
          handled.push(m.id);
        },
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(attempts.filter((type) => type === 'Poison')).toHaveLength(3);
    expect(handled).toHaveLength(2);
    const [parked] = await subscription.parkingLot.list();
    expect(parked).toMatchObject({
      messageId: poison.id,
      streamName: `${category}-2`,
      position: 0,
      type: 'Poison',
      subscriberId,
      attempts: 3,
      state: 'parked',
      error: 'Error: cannot handle this',
    });

    cured = true;
    await subscription.parkingLot.retry(poison.id);
    await eventually(async () => (await subscription.parkingLot.list()).length === 0);
    expect(handled).toContain(poison.id);
    expect((await subscription.parkingLot.list({ all: true }))[0]?.state).toBe('resolved');
  });

  it('parks a malformed message at once with the schema’s reasons, and goes on', async () => {
    const category = uniqueCategory();
    const Named = defineMessage('Named', z.object({ name: z.string().min(1) }));
    await store.write(`${category}-1`, exampleMessage({ type: 'Named', data: { name: '' } }));
    await store.write(`${category}-2`, Named.create({ name: 'fine' }));
    const names: string[] = [];
    let calls = 0;
    const subscription = subscribe({
      streamName: category,
      maxAttempts: 5,
      handlers: {
        Named: (m) => {
          calls++;
          names.push(Named.parse(m).data.name);
        },
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(names).toEqual(['fine']);
    expect(calls).toBe(2);
    const [parked] = await subscription.parkingLot.list();
    expect(parked?.error).toMatch(/InvalidMessageError: Invalid Named message: name:/);
    expect(parked?.attempts).toBe(1);
  });

  it('parks again, with the new reason, a retried message that still fails', async () => {
    const category = uniqueCategory();
    const poison = exampleMessage({ type: 'Poison' });
    await store.write(`${category}-1`, poison);
    const subscription = subscribe({
      streamName: category,
      maxAttempts: 1,
      handlers: {
        $any: () => {
          throw new Error('still broken');
        },
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await subscription.parkingLot.retry(poison.id);
    await eventually(async () => (await subscription.parkingLot.list())[0]?.attempts === 2);
    expect((await subscription.parkingLot.list())[0]).toMatchObject({ state: 'parked', error: 'Error: still broken' });
  });

  it('applies a batch in one transaction with its position, and isolates a failing message', async () => {
    const category = uniqueCategory();
    const table = `applied_${randomUUID().replaceAll('-', '')}`;
    await test.db.query(`CREATE TABLE ${table} (message_id uuid PRIMARY KEY)`);
    await writeTo(category, 10);
    const poison = exampleMessage({ type: 'Poison' });
    await store.write(`${category}-x`, poison);
    await writeTo(category, 5);
    const subscriberId = randomUUID();
    let transactions = 0;
    const subscription = subscribe({
      streamName: category,
      subscriberId,
      handleBatch: async (messages, tx) => {
        transactions++;
        for (const message of messages) {
          if (message.type === 'Poison') throw new Error('not this one');
          await tx.query(`INSERT INTO ${table} VALUES ($1) ON CONFLICT DO NOTHING`, [message.id]);
        }
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    const [applied] = await test.db.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${table}`);
    expect(applied?.count).toBe(15);
    expect((await subscription.parkingLot.list()).map((parked) => parked.messageId)).toEqual([poison.id]);
    expect(transactions).toBeGreaterThan(1);
    const [head] = await test.db.query<{ head: string }>(
      `SELECT max(global_position) AS head FROM message_store.messages WHERE message_store.category(stream_name) = $1`,
      [category],
    );
    expect((await store.readLastMessage(positionStreamName(subscriberId)))?.data.position).toBe(Number(head?.head));
  });

  it('never applies a batch without its position, nor a position without its batch', async () => {
    const category = uniqueCategory();
    const table = `applied_${randomUUID().replaceAll('-', '')}`;
    await test.db.query(`CREATE TABLE ${table} (message_id uuid PRIMARY KEY)`);
    await writeTo(category, 20);
    const subscriberId = randomUUID();
    let calls = 0;
    const subscription = subscribe({
      streamName: category,
      subscriberId,
      messagesPerTick: 20,
      handleBatch: async (messages, tx) => {
        calls++;
        for (const message of messages) await tx.query(`INSERT INTO ${table} VALUES ($1)`, [message.id]);
        // The first whole batch fails after its rows were inserted: they must roll back.
        if (calls === 1) throw new Error('fail after writing');
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    const [applied] = await test.db.query<{ count: number }>(`SELECT count(*)::int AS count FROM ${table}`);
    expect(applied?.count).toBe(20);
    expect(await subscription.parkingLot.list()).toEqual([]);
  });
});

describe('$all', () => {
  it('hands over messages of every category in global order', async () => {
    const [head] = await test.db.query<{ head: string | null }>(
      'SELECT max(global_position) AS head FROM message_store.messages',
    );
    const subscriberId = randomUUID();
    await store.write(positionStreamName(subscriberId), {
      id: randomUUID(),
      type: 'Read',
      data: { position: Number(head?.head ?? 0) },
    });
    const a = uniqueCategory();
    const b = uniqueCategory();
    await store.write(`${a}-1`, exampleMessage());
    await store.write(`${b}-1`, exampleMessage());
    const handled: StoredMessage[] = [];
    const subscription = subscribe({
      streamName: '$all',
      subscriberId,
      handlers: { $any: (m) => void handled.push(m) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    const ours = handled.filter((m) => [a, b].some((category) => m.streamName.startsWith(category)));
    expect(ours.map((m) => m.streamName)).toEqual([`${a}-1`, `${b}-1`]);
  });

  it.runIf(testDatabaseKind === 'postgres')(
    'never skips a message whose transaction commits after a later global position',
    async () => {
      const { watchingStore, reads } = storeWatchingReads((sql) => sql.includes('LEFT JOIN LATERAL'));
      const subscriberId = randomUUID();
      const [head] = await test.db.query<{ head: string | null }>(
        'SELECT max(global_position) AS head FROM message_store.messages',
      );
      await store.write(positionStreamName(subscriberId), {
        id: randomUUID(),
        type: 'Read',
        data: { position: Number(head?.head ?? 0) },
      });
      const slow = uniqueCategory('slow');
      const fast = uniqueCategory('fast');
      const handled: string[] = [];
      const subscription = subscribe({
        streamName: '$all',
        subscriberId,
        store: watchingStore,
        tickIntervalMs: 10,
        handlers: { $any: (m) => void handled.push(m.streamName) },
      });
      await subscription.start();

      // A writer takes global position n and holds its transaction open…
      const other = test.connectAgain();
      let commit: () => void = () => {};
      const committed = new Promise<void>((resolve) => (commit = resolve));
      let wrote: () => void = () => {};
      const hasWritten = new Promise<void>((resolve) => (wrote = resolve));
      const slowWrite = other.transaction(async (tx) => {
        await createMessageStore({ db: other }).writeInTransaction(tx, `${slow}-1`, exampleMessage());
        wrote();
        await committed;
      });
      await hasWritten;
      // …while another category's message, at n + 1, commits at once.
      await store.write(`${fast}-1`, exampleMessage());
      // Reads begun after the write have been answered and looked at: the next has begun since.
      const readsBefore = reads.length;
      await eventually(() => reads.length >= readsBefore + 3);
      expect(handled.filter((name) => name.startsWith('fast') || name.startsWith('slow'))).toEqual([]);

      commit();
      await slowWrite;
      await eventually(() => handled.filter((name) => name.startsWith('fast') || name.startsWith('slow')).length === 2);
      expect(handled.filter((name) => name.startsWith('fast') || name.startsWith('slow'))).toEqual([
        `${slow}-1`,
        `${fast}-1`,
      ]);
    },
  );

  it('in batch mode, does not feed on its own position records', async () => {
    const subscriberId = randomUUID();
    const batches: number[] = [];
    const subscription = subscribe({
      streamName: '$all',
      subscriberId,
      handleBatch: async (messages) => void batches.push(messages.length),
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await store.write(`${uniqueCategory()}-1`, exampleMessage());
    await subscription.waitUntilCaughtUp();
    const handled = batches.length;
    await sleep(300); // no signal tells that nothing more will come: this shows it for a while
    // Idle: no batch since, and at most one position record per real batch.
    expect(batches.length).toBe(handled);
    expect((await store.read(positionStreamName(subscriberId))).length).toBeLessThanOrEqual(2);
    await subscription.stop();
  });

  it('passes a hole left by a rolled-back write', async () => {
    const subscriberId = randomUUID();
    const [head] = await test.db.query<{ head: string | null }>(
      'SELECT max(global_position) AS head FROM message_store.messages',
    );
    await store.write(positionStreamName(subscriberId), {
      id: randomUUID(),
      type: 'Read',
      data: { position: Number(head?.head ?? 0) },
    });
    const category = uniqueCategory();
    await test.db
      .transaction(async (tx) => {
        await store.writeInTransaction(tx, `${category}-rolledBack`, exampleMessage());
        throw new Error('roll back');
      })
      .catch(() => {});
    await store.write(`${category}-1`, exampleMessage());
    const handled: string[] = [];
    const subscription = subscribe({
      streamName: '$all',
      subscriberId,
      handlers: { $any: (m) => void handled.push(m.streamName) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(handled.filter((name) => name.startsWith(category))).toEqual([`${category}-1`]);
  });
});

describe.runIf(testDatabaseKind === 'postgres')('when PostgreSQL drops every connection', () => {
  it('retries with backoff and resumes by itself', async () => {
    const own = test.connectAgain();
    const ownStore = createMessageStore({ db: own });
    const category = uniqueCategory();
    const handled: string[] = [];
    const subscription = subscribe({
      store: ownStore,
      streamName: category,
      tickIntervalMs: 20,
      handlers: { $any: (m) => void handled.push(m.id) },
    });
    await subscription.start();
    await writeTo(category, 3);
    await eventually(() => handled.length === 3);

    // What a server restart does to clients: every backend of the database is terminated.
    const [{ name } = { name: '' }] = await test.db.query<{ name: string }>('SELECT current_database() AS name');
    const killer = test.connectAgain();
    const killed = await killer.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    await killer.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [name],
    );
    expect(killed.length).toBeGreaterThan(0);

    await writeTo(category, 3);
    await eventually(() => handled.length === 6, { timeoutMs: 20_000 });
    expect(new Set(handled).size).toBe(6);
    // And a fresh write still wakes it once the LISTEN connection is back.
  });
});

describe('waitUntilCaughtUp and reads begun before it was called', () => {
  it('waits for a write committed while a read ahead ran during a slow handler', async () => {
    const { watchingStore, reads } = storeWatchingReads((sql) => sql.includes('get_category_messages'));
    const category = uniqueCategory();
    const handled: string[] = [];
    let letFirstEnd = () => {};
    const firstMayEnd = new Promise<void>((resolve) => (letFirstEnd = resolve));
    let firstBegun = () => {};
    const inFirst = new Promise<void>((resolve) => (firstBegun = resolve));
    // (A slow handler rather than a slow batch: on PGlite a batch's open transaction would hold every read back.)
    const subscription = subscribe({
      store: watchingStore,
      streamName: category,
      messagesPerTick: 2,
      handlers: {
        $any: async (message) => {
          if (handled.length === 0) {
            firstBegun();
            await firstMayEnd;
          }
          handled.push(message.id);
        },
      },
    });
    await writeTo(category, 2); // a full batch: the next read runs while it is handled
    await subscription.start();
    await inFirst;
    await reads.at(-1); // the read ahead has its answer: nothing after the two
    const late = exampleMessage();
    await store.write(`${category}-${randomUUID()}`, late);

    const caughtUp = subscription.waitUntilCaughtUp({ timeoutMs: 5_000 });
    letFirstEnd();
    await caughtUp;
    expect(handled).toContain(late.id);
  });

  it('does not take the answer of a shared $all read begun before the call', async () => {
    const { watchingStore, holdNextRead } = storeWatchingReads((sql) => sql.includes('LEFT JOIN LATERAL'));
    const [head] = await test.db.query<{ head: string | null }>(
      'SELECT max(global_position) AS head FROM message_store.messages',
    );
    // Two $all consumers of one process at the head read it together (one read, shared).
    const [polling, waiting] = [randomUUID(), randomUUID()];
    for (const subscriberId of [polling, waiting])
      await store.write(positionStreamName(subscriberId), {
        id: randomUUID(),
        type: 'Read',
        data: { position: Number(head?.head ?? 0) },
      });
    const handledByWaiting: string[] = [];
    const pollingSubscription = subscribe({
      store: watchingStore,
      streamName: '$all',
      subscriberId: polling,
      wakeUps: false,
      tickIntervalMs: 20,
      handlers: { $any: () => {} },
    });
    // Reads only when woken by waitUntilCaughtUp.
    const waitingSubscription = subscribe({
      store: watchingStore,
      streamName: '$all',
      subscriberId: waiting,
      wakeUps: false,
      tickIntervalMs: 600_000,
      handlers: { $any: (m) => void handledByWaiting.push(m.id) },
    });
    await pollingSubscription.start();
    await waitingSubscription.start();
    await Promise.all([pollingSubscription.waitUntilCaughtUp(), waitingSubscription.waitUntilCaughtUp()]);
    await sleep(100); // the waiting one's last wake-up read is over: it sleeps now

    // The polling one's read of the head has its snapshot; then a message is committed; then the call.
    const release = await holdNextRead();
    const late = exampleMessage();
    await store.write(`${uniqueCategory()}-1`, late);
    const caughtUp = waitingSubscription.waitUntilCaughtUp({ timeoutMs: 5_000 });
    await sleep(20); // the waiting one is woken and reads the head
    release();
    await caughtUp;
    expect(handledByWaiting).toContain(late.id);
  });
});
