import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  createTestDatabase,
  exampleMessage,
  exampleMessages,
  uniqueCategory,
  uniqueStreamName,
  type TestDatabase,
} from './controls/index.js';
import { DuplicateMessageIdError, InvalidMessageError, VersionConflictError } from './errors.js';
import { defineMessage, follow, type MessageOf } from './message.js';
import { createSubscription } from './subscription.js';
import { createMessageStore, sharesDatabase, snapshotStreamName, type MessageStore, type Projection } from './store.js';

let test: TestDatabase;
let store: MessageStore;
beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterAll(() => test.drop());

describe('write', () => {
  it('returns the new stream position', async () => {
    const stream = uniqueStreamName();
    expect(await store.write(stream, exampleMessage())).toEqual({ position: 0, alreadyWritten: false });
    expect(await store.write(stream, exampleMessage())).toEqual({ position: 1, alreadyWritten: false });
  });

  it('rejects a wrong expected version with stream name, expected and actual version', async () => {
    const stream = uniqueStreamName();
    await store.write(stream, exampleMessage());
    await store.write(stream, exampleMessage());
    const error = await store.write(stream, exampleMessage(), 0).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ streamName: stream, expectedVersion: 0, actualVersion: 1 });
    expect(await store.streamVersion(stream)).toBe(1);
  });

  it('treats expected version -1 as "the stream must be empty"', async () => {
    const stream = uniqueStreamName();
    expect((await store.write(stream, exampleMessage(), -1)).position).toBe(0);
    await expect(store.write(stream, exampleMessage(), -1)).rejects.toMatchObject({
      name: 'VersionConflictError',
      expectedVersion: -1,
      actualVersion: 0,
    });
  });

  it('writes a message whose id is already stored only once, and says so', async () => {
    const stream = uniqueStreamName();
    const message = exampleMessage();
    await store.write(stream, exampleMessage());
    expect(await store.write(stream, message)).toEqual({ position: 1, alreadyWritten: false });
    expect(await store.write(stream, message)).toEqual({ position: 1, alreadyWritten: true });
    // The same message written again with the expected version it had the first time.
    expect(await store.write(stream, message, 0)).toEqual({ position: 1, alreadyWritten: true });
    expect(await store.read(stream)).toHaveLength(2);
  });

  it('refuses an id already used in another stream', async () => {
    const message = exampleMessage();
    const first = uniqueStreamName();
    await store.write(first, message);
    await expect(store.write(uniqueStreamName(), message)).rejects.toBeInstanceOf(DuplicateMessageIdError);
  });

  it('writes concurrent writes to one category together, one statement for those that waited', async () => {
    const statements: string[] = [];
    const counting = createMessageStore({
      db: {
        ...test.db,
        query: (sql, params) => {
          statements.push(sql);
          return test.db.query(sql, params);
        },
      },
    });
    const category = uniqueCategory();
    const streams = Array.from({ length: 8 }, () => uniqueStreamName(category));
    const results = await Promise.all(streams.map((stream) => counting.write(stream, exampleMessage())));
    expect(results).toEqual(streams.map(() => ({ position: 0, alreadyWritten: false })));
    // Made in one turn of the event loop: one statement.
    expect(statements.filter((sql) => sql.includes('write_message'))).toHaveLength(1);
    // And those that arrive while one is in flight go together in the next.
    statements.length = 0;
    const first = counting.write(uniqueStreamName(category), exampleMessage());
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([first, ...streams.map((stream) => counting.write(stream, exampleMessage()))]);
    expect(statements.filter((sql) => sql.includes('write_message'))).toHaveLength(2);
    for (const stream of streams) expect(await store.read(stream)).toHaveLength(2);
  });

  it('gives each of the writes that went together its own answer when one of them fails', async () => {
    const category = uniqueCategory();
    const busy = uniqueStreamName(category);
    await store.write(busy, exampleMessage());
    const repeated = exampleMessage();
    const elsewhere = uniqueStreamName(category);
    await store.write(elsewhere, repeated);
    const fresh = Array.from({ length: 3 }, () => uniqueStreamName(category));
    const outcomes = await Promise.allSettled([
      store.write(uniqueStreamName(category), exampleMessage()),
      store.write(fresh[0]!, exampleMessage()),
      store.write(busy, exampleMessage(), -1), // a conflict
      store.write(fresh[1]!, exampleMessage()),
      store.write(elsewhere, repeated), // already stored: recognized
      store.write(uniqueStreamName(category), repeated), // the same id in another stream
      store.write(busy, exampleMessage(), 0), // right, once the conflicting write wrote nothing
      store.write(fresh[2]!, exampleMessage()),
    ]);
    const [first, second, conflict, fourth, repeat, duplicate, expected, last] = outcomes;
    expect(first).toEqual({ status: 'fulfilled', value: { position: 0, alreadyWritten: false } });
    expect(second).toEqual({ status: 'fulfilled', value: { position: 0, alreadyWritten: false } });
    expect(conflict).toMatchObject({ status: 'rejected', reason: { expectedVersion: -1, actualVersion: 0 } });
    expect(conflict.status === 'rejected' && conflict.reason).toBeInstanceOf(VersionConflictError);
    expect(fourth).toEqual({ status: 'fulfilled', value: { position: 0, alreadyWritten: false } });
    expect(repeat).toEqual({ status: 'fulfilled', value: { position: 0, alreadyWritten: true } });
    expect(duplicate.status === 'rejected' && duplicate.reason).toBeInstanceOf(DuplicateMessageIdError);
    expect(expected).toEqual({ status: 'fulfilled', value: { position: 1, alreadyWritten: false } });
    expect(last).toEqual({ status: 'fulfilled', value: { position: 0, alreadyWritten: false } });
    expect(await store.read(busy)).toHaveLength(2);
    for (const stream of fresh) expect(await store.read(stream)).toHaveLength(1);
  });

  it('copies a requester origin into the correlation Message DB filters on', async () => {
    const stream = uniqueStreamName();
    await store.write(stream, exampleMessage({ metadata: { originStreamName: 'identity-1' } }));
    const [row] = await test.db.query<{ correlation: string }>(
      `SELECT metadata->>'correlationStreamName' AS correlation FROM message_store.messages WHERE stream_name = $1`,
      [stream],
    );
    expect(row?.correlation).toBe('identity-1');
  });
});

describe('writeBatch', () => {
  it('writes several messages atomically', async () => {
    const stream = uniqueStreamName();
    expect(await store.writeBatch(stream, exampleMessages(3), -1)).toEqual({ position: 2, alreadyWritten: false });
    expect((await store.read(stream)).map((message) => message.position)).toEqual([0, 1, 2]);
  });

  it('writes nothing when the expected version is wrong', async () => {
    const stream = uniqueStreamName();
    await store.write(stream, exampleMessage());
    await expect(store.writeBatch(stream, exampleMessages(3), -1)).rejects.toBeInstanceOf(VersionConflictError);
    expect(await store.read(stream)).toHaveLength(1);
  });

  it('writes nothing when one message of the batch is already stored, and recognizes a repeated batch', async () => {
    const stream = uniqueStreamName();
    const batch = exampleMessages(3);
    await store.writeBatch(stream, batch);
    expect(await store.writeBatch(stream, batch)).toEqual({ position: 2, alreadyWritten: true });
    const mixed = [exampleMessage(), batch[1]!];
    await expect(store.writeBatch(stream, mixed)).rejects.toThrow();
    expect(await store.read(stream)).toHaveLength(3);
  });
});

describe('read', () => {
  it('reads an entity stream from a position, parsed and typed', async () => {
    const stream = uniqueStreamName();
    const before = Date.now();
    const written = exampleMessages(5);
    for (const message of written) await store.write(stream, message);
    const messages = await store.read(stream, { from: 2, max: 2 });
    expect(messages.map((message) => message.position)).toEqual([2, 3]);
    const [third] = messages;
    expect(third).toMatchObject({
      id: written[2]!.id,
      streamName: stream,
      type: 'SomethingHappened',
      data: { index: 2 },
    });
    expect(third!.metadata).toEqual(written[2]!.metadata);
    expect(typeof third!.globalPosition).toBe('number');
    // The stored time is UTC; read back it is the right instant whatever the session's time zone.
    expect(third!.time.getTime()).toBeGreaterThanOrEqual(before - 2_000);
    expect(third!.time.getTime()).toBeLessThanOrEqual(Date.now() + 2_000);
  });

  it('reads a category in global order from a global position, with origin filtering', async () => {
    const category = uniqueCategory();
    const a = `${category}-a`;
    const b = `${category}-b`;
    await store.write(a, exampleMessage({ metadata: { originStreamName: 'requester-1' } }));
    await store.write(b, exampleMessage());
    await store.write(a, exampleMessage({ metadata: { originStreamName: 'someoneElse-1' } }));
    const all = await store.read(category);
    expect(all.map((message) => message.streamName)).toEqual([a, b, a]);
    const fromSecond = await store.read(category, { from: all[1]!.globalPosition });
    expect(fromSecond).toHaveLength(2);
    const filtered = await store.read(category, { from: 0, max: 100, correlation: 'requester' });
    expect(filtered.map((message) => message.id)).toEqual([all[0]!.id]);
  });

  it('reads, with originWithoutCorrelation, also messages whose origin is named only in originStreamName', async () => {
    const category = uniqueCategory();
    // As writers outside this toolkit (the book's code) store them: originStreamName, no correlationStreamName.
    const writeRaw = (streamName: string, metadata: object | null) =>
      test.db.query('SELECT message_store.write_message($1, $2, $3, $4, $5)', [
        randomUUID(),
        streamName,
        'SomethingHappened',
        JSON.stringify({ attribute: 'some value' }),
        metadata === null ? null : JSON.stringify(metadata),
      ]);
    await store.write(`${category}-1`, exampleMessage({ metadata: { originStreamName: 'requester-1' } }));
    await writeRaw(`${category}-2`, { originStreamName: 'requester-2', traceId: randomUUID() });
    await writeRaw(`${category}-3`, { originStreamName: 'someoneElse-1' });
    await writeRaw(`${category}-4`, null);
    await writeRaw(`${category}-5`, { correlationStreamName: 'someoneElse-2', originStreamName: 'requester-3' });
    await store.write(`${category}-6`, exampleMessage({ metadata: { originStreamName: 'requester-4' } }));
    await writeRaw(`${category}-7`, { originStreamName: 'requester-5' });

    const streamsOf = (messages: { streamName: string }[]) => messages.map((message) => message.streamName);
    expect(streamsOf(await store.read(category, { from: 0, max: 100, correlation: 'requester' }))).toEqual([
      `${category}-1`,
      `${category}-6`,
    ]);
    const both = await store.read(category, {
      from: 0,
      max: 100,
      correlation: 'requester',
      originWithoutCorrelation: true,
    });
    // Where a correlation is present it decides (`-5`), as Message DB's own filter does.
    expect(streamsOf(both)).toEqual([`${category}-1`, `${category}-2`, `${category}-6`, `${category}-7`]);
    expect(Object.keys(both[1]?.metadata ?? {})).toEqual(['traceId', 'originStreamName']);

    // Batches: the first n of either kind, in global order, from a position.
    const firstTwo = await store.read(category, {
      from: 0,
      max: 2,
      correlation: 'requester',
      originWithoutCorrelation: true,
    });
    expect(streamsOf(firstTwo)).toEqual([`${category}-1`, `${category}-2`]);
    const next = await store.read(category, {
      from: firstTwo[1]!.globalPosition + 1,
      max: 1,
      correlation: 'requester',
      originWithoutCorrelation: true,
    });
    expect(streamsOf(next)).toEqual([`${category}-6`]);
    const rest = await store.read(category, {
      from: next[0]!.globalPosition + 1,
      max: 1,
      correlation: 'requester',
      originWithoutCorrelation: true,
    });
    expect(streamsOf(rest)).toEqual([`${category}-7`]);

    // Consumer groups: the members' shares together are every match, once.
    const shares = await Promise.all(
      [0, 1].map((member) =>
        store.read(category, {
          from: 0,
          max: 100,
          correlation: 'requester',
          originWithoutCorrelation: true,
          consumerGroup: { member, size: 2 },
        }),
      ),
    );
    expect(streamsOf(shares.flat()).sort()).toEqual(streamsOf(both).sort());
  });

  it('reads $all in global order', async () => {
    const first = await store.write(uniqueStreamName(), exampleMessage());
    expect(first.alreadyWritten).toBe(false);
    const [last] = await test.db.query<{ head: string }>(
      'SELECT max(global_position) AS head FROM message_store.messages',
    );
    const messages = await store.read('$all', { from: Number(last!.head) - 1, max: 10 });
    expect(messages).toHaveLength(2);
    expect(messages[0]!.globalPosition).toBeLessThan(messages[1]!.globalPosition);
  });

  it('reads the last message of a stream, optionally of a type', async () => {
    const stream = uniqueStreamName();
    expect(await store.readLastMessage(stream)).toBeNull();
    await store.write(stream, exampleMessage({ type: 'First' }));
    await store.write(stream, exampleMessage({ type: 'Second' }));
    expect((await store.readLastMessage(stream))?.type).toBe('Second');
    expect((await store.readLastMessage(stream, 'First'))?.position).toBe(0);
  });
});

describe('the store as an interface', () => {
  it('hands out no database: what needs it is given the store', async () => {
    expect(Object.keys(store).sort()).toEqual([
      'fetch',
      'read',
      'readInTransaction',
      'readLastMessage',
      'streamVersion',
      'write',
      'writeBatch',
      'writeInTransaction',
    ]);
    // @ts-expect-error -- the store has no `db`
    expect(store.db).toBeUndefined();
    expect(sharesDatabase(store, test.db)).toBe(true);
    const other = await createTestDatabase();
    try {
      expect(sharesDatabase(store, other.db)).toBe(false);
    } finally {
      await other.drop();
    }
  });

  it('keeps its database for consumers when wrapped by spreading (a decorator of some of its functions)', async () => {
    let reads = 0;
    const counting: MessageStore = {
      ...store,
      read: (...args) => {
        reads++;
        return store.read(...args);
      },
    };
    expect(sharesDatabase(counting, test.db)).toBe(true);
    const category = uniqueCategory();
    await store.write(`${category}-1`, exampleMessage());
    const handled: string[] = [];
    const subscription = createSubscription({
      store: counting,
      streamName: category,
      subscriberId: randomUUID(),
      handlers: { $any: (message) => void handled.push(message.id) },
    });
    await subscription.start();
    try {
      await subscription.waitUntilCaughtUp();
    } finally {
      await subscription.stop();
    }
    expect(handled).toHaveLength(1);
    expect(reads).toBeGreaterThan(0);
  });

  it('reads with options by name: from, max, and the defaults', async () => {
    const stream = uniqueStreamName();
    await store.writeBatch(stream, exampleMessages(5));
    expect((await store.read(stream)).map((message) => message.position)).toEqual([0, 1, 2, 3, 4]);
    expect((await store.read(stream, { from: 3 })).map((message) => message.position)).toEqual([3, 4]);
    expect((await store.read(stream, { from: 1, max: 2 })).map((message) => message.position)).toEqual([1, 2]);
  });

  it('reads inside a transaction of its database: what the transaction wrote, before it commits', async () => {
    const stream = uniqueStreamName();
    await test.db.transaction(async (tx) => {
      await store.writeInTransaction(tx, stream, exampleMessage());
      expect(await store.readInTransaction(tx, stream, { from: 0, max: 10 })).toHaveLength(1);
    });
    expect(await store.read(stream)).toHaveLength(1);
  });
});

describe('fetch', () => {
  const counting: Projection<{ count: number; sum: number }> = {
    $init: () => ({ count: 0, sum: 0 }),
    SomethingHappened: (entity, event) => ({ count: entity.count + 1, sum: entity.sum + Number(event.data.index) }),
  };

  it('projects an empty stream to $init and version -1', async () => {
    expect(await store.fetch(uniqueStreamName(), counting)).toEqual({ entity: { count: 0, sum: 0 }, version: -1 });
  });

  it('reads a stream beyond 1,000 messages whole', async () => {
    const stream = uniqueStreamName();
    for (let start = 0; start < 2_500; start += 500)
      await store.writeBatch(
        stream,
        exampleMessages(500, (index) => ({ data: { index: start + index } })),
      );
    const { entity, version } = await store.fetch(stream, counting);
    expect(version).toBe(2_499);
    expect(entity).toEqual({ count: 2_500, sum: (2_499 * 2_500) / 2 });
  });

  it('reads a stream of a few thousand messages in one round trip', async () => {
    const stream = uniqueStreamName();
    for (let start = 0; start < 2_500; start += 500)
      await store.writeBatch(
        stream,
        exampleMessages(500, (index) => ({ data: { index: start + index } })),
      );
    let reads = 0;
    const counting = createMessageStore({
      db: {
        ...test.db,
        query: (sql: string, params?: readonly unknown[]) => {
          if (sql.includes('get_stream_messages')) reads++;
          return test.db.query(sql, params);
        },
      },
    });
    expect((await counting.fetch(stream, { $init: () => 0, SomethingHappened: (count) => count + 1 })).entity).toBe(
      2_500,
    );
    expect(reads).toBe(1);
  });

  it('starts from the latest snapshot, and callers see the same result', async () => {
    const stream = uniqueStreamName();
    const snapshotted = { ...counting, $snapshot: { every: 10, version: 'v1' } };
    await store.writeBatch(stream, exampleMessages(25));
    const first = await store.fetch(stream, snapshotted);
    const snapshot = await store.readLastMessage(snapshotStreamName(stream));
    expect(snapshot?.data).toMatchObject({ streamVersion: 24, entity: first.entity, projectionVersion: 'v1' });
    // Prove fetch starts from the snapshot: a snapshot with a marked entity shows through.
    await store.write(snapshotStreamName(stream), {
      id: randomUUID(),
      type: 'Snapshot',
      data: { streamVersion: 24, projectionVersion: 'v1', entity: { count: 25, sum: 300, marked: true } },
    });
    await store.writeBatch(
      stream,
      exampleMessages(3, (index) => ({ data: { index: 25 + index } })),
    );
    const second = await store.fetch(stream, snapshotted);
    expect(second).toEqual({ entity: { count: 28, sum: 300 + 25 + 26 + 27 }, version: 27 });
    expect(await store.fetch(stream, counting)).toEqual(second);
    // A snapshot of another projection version is ignored.
    expect(await store.fetch(stream, { ...counting, $snapshot: { every: 10, version: 'v2' } })).toEqual(second);
  });

  it('writes one snapshot per version when fetched concurrently', async () => {
    const stream = uniqueStreamName();
    await store.writeBatch(stream, exampleMessages(12));
    const snapshotted = { ...counting, $snapshot: { every: 10, version: 'v1' } };
    await Promise.all([store.fetch(stream, snapshotted), store.fetch(stream, snapshotted)]);
    expect(await store.read(snapshotStreamName(stream))).toHaveLength(1);
  });
});

describe('message definitions', () => {
  const Registered = defineMessage(
    'Registered',
    z.object({ userId: z.uuid(), email: z.email(), passwordHash: z.string().min(1) }),
  );
  type Registered = MessageOf<typeof Registered>;

  it('validates data when a message is created and when it is read', async () => {
    expect(() => Registered.create({ userId: 'nope', email: 'a@example.com', passwordHash: 'x' })).toThrow(
      InvalidMessageError,
    );
    const message = Registered.create({ userId: randomUUID(), email: 'a@example.com', passwordHash: 'x' });
    const stream = uniqueStreamName('identity');
    await store.write(stream, message);
    const [stored] = await store.read(stream);
    const parsed: Registered = Registered.parse(stored!);
    expect(parsed.data.email).toBe('a@example.com');
    const broken = { ...stored!, data: { userId: 'x' } };
    const result = Registered.safeParse(broken);
    expect(result.success).toBe(false);
    if (!result.success) expect(result.error.issues.join()).toMatch(/userId/);
  });

  it('is: a type guard for the type alone (the data is still to be parsed)', () => {
    const read: { type: string; data: { userId?: string } }[] = [
      { type: 'Registered', data: { userId: 'not checked' } },
      { type: 'toString', data: {} },
    ];
    const registered = read.filter((message) => Registered.is(message));
    expectTypeOf(registered[0]!.type).toEqualTypeOf<'Registered'>();
    expectTypeOf(registered[0]!.data).toEqualTypeOf<{ userId?: string }>(); // not narrowed: unparsed
    expect(registered).toEqual([read[0]]);
  });

  it('follows a cause: trace, user and correlation carried on, causation recorded', async () => {
    const stream = uniqueStreamName();
    await store.write(stream, exampleMessage({ metadata: { traceId: 't-1', userId: 'u-1', originStreamName: 'x-1' } }));
    const [cause] = await store.read(stream);
    const next = follow(cause!, exampleMessage({ metadata: {} }));
    expect(next.metadata).toEqual({
      traceId: 't-1',
      userId: 'u-1',
      originStreamName: 'x-1',
      correlationStreamName: 'x-1',
      causationMessageStreamName: stream,
      causationMessagePosition: 0,
      causationMessageGlobalPosition: cause!.globalPosition,
    });
  });
});

describe('interoperability with Message DB', () => {
  it('reads messages written with plain SQL, and its functions read ours', async () => {
    const stream = uniqueStreamName();
    const id = randomUUID();
    await test.db.query(
      `SELECT message_store.write_message($1, $2, 'Written', '{"by":"sql"}'::jsonb, '{"traceId":"t"}'::jsonb)`,
      [id, stream],
    );
    await store.write(stream, exampleMessage({ type: 'Ours', data: { by: 'toolkit' } }));
    const [ours] = await store.read(stream, { from: 1 });
    expect((await store.read(stream))[0]).toMatchObject({
      id,
      type: 'Written',
      data: { by: 'sql' },
      metadata: { traceId: 't' },
    });
    const rows = await test.db.query<{ type: string; data: string; metadata: string; position: string | number }>(
      `SELECT type, data, metadata, position FROM message_store.get_stream_messages($1)`,
      [stream],
    );
    expect(rows[1]).toMatchObject({ type: 'Ours' });
    expect(JSON.parse(rows[1]!.data)).toEqual({ by: 'toolkit' });
    expect(JSON.parse(rows[1]!.metadata)).toEqual(ours!.metadata);
    const [last] = await test.db.query<{ id: string }>(`SELECT id FROM message_store.get_last_stream_message($1)`, [
      stream,
    ]);
    expect(last?.id).toBe(ours!.id);
  });
});
