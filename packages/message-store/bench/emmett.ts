/**
 * The toolkit side by side with Emmett's PostgreSQL event store (@event-driven-io/emmett-postgresql), on the
 * same PostgreSQL server in the same run: a fresh database for each side of each group of rows, the same
 * messages (type, data, metadata), alternating rounds. PostgreSQL only (Emmett has no PGlite store).
 *
 * Rows (ratio = toolkit speed ÷ Emmett speed, target ≥ 1.5×); the catch-up rows use --upsert-messages, since
 * Emmett stores a checkpoint per message and takes minutes for 100,000:
 *   E1 single-writer appends       store.write            vs eventStore.appendToStream (one event)
 *   E2 8 concurrent writers         the same, 8 loops at once on one pool each
 *   E3 aggregate a 1,000-event stream  store.fetch(projection) vs eventStore.aggregateStream
 *   E4 catch-up, no-op handler      createSubscription      vs postgreSQLEventStoreConsumer + reactor
 *   E5 catch-up, upsert projection  handleBatch upsert      vs the consumer's projector (postgreSQLProjection),
 *                                   the same upsert SQL, the View Data in the same database as the events
 */
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  getPostgreSQLEventStore,
  postgreSQLProjection,
  type PostgresEventStore,
  type ReadEvent,
} from '@vt/emmett-baseline';
import { createFreshPostgresDatabase } from '../src/controls/database.js';
import {
  createMessageStore,
  createSubscription,
  installMessageDb,
  type Message,
  type MessageStore,
  type Projection,
  type StoredMessage,
} from '../src/index.js';
import { createPostgresDatabase } from '../src/postgres.js';
import { alternate, formatMs, formatNumber, formatRatio, median, now, progress, type Rounds } from './harness.js';

/** What these rows need of the benchmark's context (bench.ts's Context has it). */
export interface EmmettContext {
  backend: { name: string };
  settings: { quick: boolean; rounds: number; postgresUrl: string; upsertMessages: number };
}

/** The shape of a row in bench.ts's report. */
export interface EmmettResult {
  id: string;
  measurement: string;
  baseline: string;
  candidate: string;
  ratio: number | null;
  target: string;
  pass: boolean | null;
  notes: string[];
}

const TARGET = 1.5;
const WRITERS = 8;
const AGGREGATE_EVENTS = 1000;
const BATCH = 1000;
/** Both sides get one pool this big: room for 8 writers and the reads next to them, little on a shared server. */
const POOL_SIZE = WRITERS + 1;

const uniqueName = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

/** The same message as bench.ts writes: the same type, data and metadata sizes on both sides. */
function exampleMessage(data: Record<string, unknown> = {}): Message {
  return {
    id: randomUUID(),
    type: 'SomethingHappened',
    data: { attribute: 'some value', number: 1, ...data },
    metadata: { traceId: randomUUID(), userId: randomUUID() },
  };
}

/** Emmett's event for the same message (Emmett adds its own messageId to the metadata). */
const toEmmett = (message: Message) => ({ type: message.type, data: message.data, metadata: message.metadata ?? {} });

interface Sides {
  toolkit: MessageStore;
  emmett: PostgresEventStore;
  /** pg pools on each database, for counting and dropping what the rows wrote. */
  toolkitPool: pg.Pool;
  emmettPool: pg.Pool;
  close(): Promise<void>;
}

/** A fresh database with Message DB for the toolkit and another with Emmett's schema, both dropped by close(). */
async function openSides(url: string): Promise<Sides> {
  const ours = await createFreshPostgresDatabase(url, 'message_store_bench_toolkit');
  const theirs = await createFreshPostgresDatabase(url, 'message_store_bench_emmett');
  const db = createPostgresDatabase({ connectionString: ours.connectionString, max: POOL_SIZE });
  const toolkitPool = new pg.Pool({ connectionString: ours.connectionString, max: 2 });
  const emmettPool = new pg.Pool({ connectionString: theirs.connectionString, max: POOL_SIZE });
  toolkitPool.on('error', () => {});
  emmettPool.on('error', () => {});
  const emmett = getPostgreSQLEventStore(theirs.connectionString, {
    connectionOptions: { pool: emmettPool },
  });
  const close = async () => {
    await db.close().catch(() => {});
    await emmett.close().catch(() => {});
    await emmettPool.end().catch(() => {});
    await toolkitPool.end().catch(() => {});
    await Promise.all([ours.drop(), theirs.drop()]);
  };
  try {
    await installMessageDb(db);
    await emmett.schema.migrate();
    return { toolkit: createMessageStore({ db }), emmett, toolkitPool, emmettPool, close };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}

const perSecond = (count: number, ms: number) => (count * 1000) / ms;
const rate = (unit: string) => (value: number) => `${formatNumber(value)} ${unit}`;

function roundNotes(rounds: Rounds, describe: (value: number) => string) {
  return `rounds (alternating): Emmett ${rounds.baseline.map(describe).join(', ')}; toolkit ${rounds.candidate.map(describe).join(', ')}; ratios ${rounds.ratios.map((ratio) => formatRatio(ratio)).join(', ')}`;
}

function row(
  id: string,
  measurement: string,
  rounds: Rounds,
  describe: (value: number) => string,
  notes: string[],
): EmmettResult {
  const ratio = median(rounds.ratios);
  return {
    id,
    measurement,
    baseline: `Emmett ${describe(median(rounds.baseline))}`,
    candidate: describe(median(rounds.candidate)),
    ratio,
    target: `≥ ${formatRatio(TARGET)}`,
    pass: Number.isFinite(ratio) ? ratio >= TARGET : null,
    notes: [...notes, roundNotes(rounds, describe)],
  };
}

// ---------------------------------------------------------------------------
// E1, E2: appends, one writer and 8 at once

/** `writers` loops at once, `count` appends in all, each to a new stream of one category; answers appends/s. */
async function appendLoop(
  label: string,
  count: number,
  writers: number,
  append: (stream: string, message: Message) => Promise<unknown>,
) {
  const category = uniqueName('benchAppend');
  const items = Array.from({ length: count }, () => ({
    stream: `${category}-${randomUUID()}`,
    message: exampleMessage(),
  }));
  const line = progress(label);
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let item = items[next++]; item; item = items[next++]) {
        await append(item.stream, item.message);
        if (next % 100 === 0) line.update(next, count);
      }
    }),
  );
  const ms = now() - started;
  line.done(`${formatNumber(perSecond(count, ms))} appends/s`);
  return perSecond(count, ms);
}

async function measureAppends(ctx: EmmettContext, sides: Sides, writers: number): Promise<EmmettResult> {
  const { rounds, quick } = ctx.settings;
  const id = writers === 1 ? 'E1' : 'E2';
  const count = writers === 1 ? (quick ? 500 : 2_000) : quick ? 2_000 : 8_000;
  const toolkit = (stream: string, message: Message) => sides.toolkit.write(stream, message);
  const emmett = (stream: string, message: Message) => sides.emmett.appendToStream(stream, [toEmmett(message)]);
  const label = (side: string, round: number) =>
    `[postgres] ${id} ${writers === 1 ? 'single writer' : `${writers} writers`}, ${side}, round ${round + 1}/${rounds}`;
  await appendLoop(`[postgres] ${id} warm-up Emmett`, Math.min(500, count), writers, emmett);
  await appendLoop(`[postgres] ${id} warm-up toolkit`, Math.min(500, count), writers, toolkit);
  const result = await alternate(
    rounds,
    (round) => appendLoop(label('Emmett appendToStream', round), count, writers, emmett),
    (round) => appendLoop(label('store.write', round), count, writers, toolkit),
    (baseline, candidate) => candidate / baseline,
  );
  return row(
    id,
    writers === 1
      ? 'vs Emmett: single-writer appends (store.write vs appendToStream)'
      : `vs Emmett: ${writers} concurrent writers (store.write vs appendToStream)`,
    result,
    rate('appends/s'),
    [
      `${formatNumber(count)} appends per round by ${writers} loop(s) at once, one event each, each to a new stream of one category; ratio = toolkit appends/s ÷ Emmett appends/s`,
      `each side in its own fresh database, one pool of ${POOL_SIZE} connections each`,
    ],
  );
}

// ---------------------------------------------------------------------------
// E3: aggregate a 1,000-event stream

interface Totals {
  count: number;
  sum: number;
}

const totalsProjection: Projection<Totals> = {
  $init: () => ({ count: 0, sum: 0 }),
  SomethingHappened: (totals, event) => ({ count: totals.count + 1, sum: totals.sum + Number(event.data.index) }),
};

type SomethingHappened = { type: 'SomethingHappened'; data: { index: number } };

const evolveTotals = (totals: Totals, event: ReadEvent<SomethingHappened>): Totals => ({
  count: totals.count + 1,
  sum: totals.sum + event.data.index,
});

async function measureAggregate(ctx: EmmettContext, sides: Sides): Promise<EmmettResult> {
  const { rounds, quick } = ctx.settings;
  const reads = quick ? 20 : 100;
  const stream = `${uniqueName('benchAggregate')}-${randomUUID()}`;
  const messages = Array.from({ length: AGGREGATE_EVENTS }, (_, index) => exampleMessage({ index }));
  await sides.toolkit.writeBatch(stream, messages);
  await sides.emmett.appendToStream(stream, messages.map(toEmmett));
  const expectedSum = (AGGREGATE_EVENTS * (AGGREGATE_EVENTS - 1)) / 2;
  const check = (side: string, totals: Totals) => {
    if (totals.count !== AGGREGATE_EVENTS || totals.sum !== expectedSum)
      throw new Error(`${side} aggregated ${JSON.stringify(totals)}, expected ${AGGREGATE_EVENTS} events`);
  };
  const loop = async (label: string, aggregate: () => Promise<void>) => {
    const line = progress(label);
    const started = now();
    for (let read = 0; read < reads; read++) {
      await aggregate();
      line.update(read + 1, reads);
    }
    const ms = now() - started;
    line.done(`${formatNumber(perSecond(reads, ms))} aggregates/s`);
    return perSecond(reads, ms);
  };
  const toolkit = async () => check('toolkit', (await sides.toolkit.fetch(stream, totalsProjection)).entity);
  const emmett = async () =>
    check(
      'Emmett',
      (
        await sides.emmett.aggregateStream<Totals, SomethingHappened>(stream, {
          evolve: evolveTotals,
          initialState: () => ({ count: 0, sum: 0 }),
        })
      ).state,
    );
  await toolkit();
  await emmett();
  const result = await alternate(
    rounds,
    (round) => loop(`[postgres] E3 aggregate, Emmett aggregateStream, round ${round + 1}/${rounds}`, emmett),
    (round) => loop(`[postgres] E3 aggregate, store.fetch, round ${round + 1}/${rounds}`, toolkit),
    (baseline, candidate) => candidate / baseline,
  );
  return row(
    'E3',
    `vs Emmett: aggregate a ${formatNumber(AGGREGATE_EVENTS)}-event stream (fetch vs aggregateStream)`,
    result,
    rate('aggregates/s'),
    [
      `${reads} sequential aggregations per round of one stream of ${formatNumber(AGGREGATE_EVENTS)} events (count and sum of data.index, checked each time); no snapshots`,
    ],
  );
}

// ---------------------------------------------------------------------------
// E4, E5: catch-up by a consumer, no-op handler and upsert projection

const COUNTS_TABLE = 'public.bench_counts';
const CREATE_COUNTS = `CREATE TABLE IF NOT EXISTS ${COUNTS_TABLE} (
  stream_name text PRIMARY KEY,
  count int NOT NULL,
  last_global_position bigint NOT NULL
)`;
/** The same idempotent upsert on both sides: counts per stream, skipped for what a row already covers. */
const UPSERT_SQL = `INSERT INTO ${COUNTS_TABLE} AS counts (stream_name, count, last_global_position)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
  ON CONFLICT (stream_name) DO UPDATE
    SET count = counts.count + EXCLUDED.count, last_global_position = EXCLUDED.last_global_position
    WHERE counts.last_global_position < EXCLUDED.last_global_position`;

/** The upsert's parameters for some messages: one row per stream. */
function upsertParameters(messages: { streamName: string; globalPosition: number }[]) {
  const byStream = new Map<string, { count: number; last: number }>();
  for (const { streamName, globalPosition } of messages) {
    const entry = byStream.get(streamName);
    if (entry) {
      entry.count++;
      entry.last = Math.max(entry.last, globalPosition);
    } else byStream.set(streamName, { count: 1, last: globalPosition });
  }
  const entries = [...byStream];
  return [
    entries.map(([stream]) => stream),
    entries.map(([, { count }]) => count),
    entries.map(([, { last }]) => last),
  ];
}

async function countedTotal(pool: pg.Pool) {
  const { rows } = await pool.query<{ total: string | null }>(`SELECT sum(count) AS total FROM ${COUNTS_TABLE}`);
  return Number(rows[0]?.total ?? 0);
}

function expectCount(what: string, actual: number, expected: number) {
  if (actual !== expected) throw new Error(`${what}: handled ${actual} messages, expected ${expected}`);
}

async function seedCatchUp(ctx: EmmettContext, sides: Sides, category: string) {
  const total = ctx.settings.upsertMessages;
  const line = progress(`[postgres] E4/E5 writing ${formatNumber(total)} messages to each side (batches of ${BATCH})`);
  for (let written = 0, batch = 0; written < total; batch++) {
    const size = Math.min(BATCH, total - written);
    const messages = Array.from({ length: size }, (_, index) => exampleMessage({ index: written + index }));
    const stream = `${category}-${batch}`;
    await sides.toolkit.writeBatch(stream, messages);
    await sides.emmett.appendToStream(stream, messages.map(toEmmett));
    written += size;
    line.update(written, total);
  }
  line.done();
  // As bench.ts does after seeding (and as autovacuum would eventually): statistics for the planner.
  await sides.toolkitPool.query('ANALYZE message_store.messages');
  await sides.emmettPool.query('ANALYZE');
}

async function toolkitCatchUp(
  ctx: EmmettContext,
  sides: Sides,
  category: string,
  mode: 'no-op' | 'upsert',
  label: string,
) {
  const total = ctx.settings.upsertMessages;
  let handled = 0;
  const line = progress(label);
  const stopPolling = line.poll(() => handled, total);
  const common = {
    store: sides.toolkit,
    streamName: category,
    subscriberId: uniqueName('benchVsEmmett'),
    messagesPerTick: BATCH,
    positionUpdateInterval: BATCH,
    wakeUps: false,
  };
  const subscription = createSubscription(
    mode === 'no-op'
      ? {
          ...common,
          handlers: {
            $any: () => {
              handled++;
            },
          },
        }
      : {
          ...common,
          handleBatch: async (messages: StoredMessage[], tx) => {
            await tx.query(UPSERT_SQL, upsertParameters(messages));
            handled += messages.length;
          },
        },
  );
  try {
    const started = now();
    await subscription.start();
    await subscription.waitUntilCaughtUp({ timeoutMs: 600_000 });
    await subscription.stop();
    const ms = now() - started;
    line.done(`${formatNumber(perSecond(total, ms))} msg/s`);
    expectCount('toolkit subscription', handled, total);
    return ms;
  } finally {
    stopPolling();
    await subscription.stop().catch(() => {});
  }
}

async function emmettCatchUp(ctx: EmmettContext, sides: Sides, mode: 'no-op' | 'upsert', label: string) {
  const total = ctx.settings.upsertMessages;
  let handled = 0;
  const line = progress(label);
  const stopPolling = line.poll(() => handled, total);
  const consumer = sides.emmett.consumer({
    stopWhen: { noMessagesLeft: true },
    // The same read batch as the toolkit's; no pause between full batches (the default pauses 50 ms).
    pulling: { batchSize: BATCH, pullingFrequencyInMs: 0 },
  });
  if (mode === 'no-op')
    consumer.reactor({
      processorId: uniqueName('benchVsEmmett'),
      eachMessage: () => {
        handled++;
        return Promise.resolve();
      },
    });
  else
    consumer.projector({
      processorId: uniqueName('benchVsEmmett'),
      projection: postgreSQLProjection<SomethingHappened>({
        name: 'benchCounts',
        canHandle: ['SomethingHappened'],
        handle: async (events, context) => {
          await context.connection.client.query(
            UPSERT_SQL,
            upsertParameters(
              events.map((event) => ({
                streamName: event.metadata.streamName,
                globalPosition: Number(event.metadata.globalPosition),
              })),
            ),
          );
          handled += events.length;
        },
      }),
    });
  try {
    const started = now();
    await consumer.start();
    const ms = now() - started;
    line.done(`${formatNumber(perSecond(total, ms))} msg/s`);
    expectCount('Emmett consumer', handled, total);
    return ms;
  } finally {
    stopPolling();
    await consumer.stop().catch(() => {});
  }
}

async function measureCatchUp(
  ctx: EmmettContext,
  sides: Sides,
  category: string,
  mode: 'no-op' | 'upsert',
): Promise<EmmettResult> {
  const { rounds, upsertMessages: total } = ctx.settings;
  const id = mode === 'no-op' ? 'E4' : 'E5';
  const resetCounts = async () => {
    if (mode === 'no-op') return;
    await Promise.all([sides.toolkitPool, sides.emmettPool].map((pool) => pool.query(`TRUNCATE ${COUNTS_TABLE}`)));
  };
  if (mode === 'upsert')
    await Promise.all([sides.toolkitPool, sides.emmettPool].map((pool) => pool.query(CREATE_COUNTS)));
  const result = await alternate(
    rounds,
    async (round) => {
      await resetCounts();
      const ms = await emmettCatchUp(
        ctx,
        sides,
        mode,
        `[postgres] ${id} ${mode} catch-up, Emmett, round ${round + 1}/${rounds}`,
      );
      if (mode === 'upsert') expectCount('Emmett upserted counts', await countedTotal(sides.emmettPool), total);
      return ms;
    },
    async (round) => {
      await resetCounts();
      const ms = await toolkitCatchUp(
        ctx,
        sides,
        category,
        mode,
        `[postgres] ${id} ${mode} catch-up, toolkit, round ${round + 1}/${rounds}`,
      );
      if (mode === 'upsert') expectCount('toolkit upserted counts', await countedTotal(sides.toolkitPool), total);
      return ms;
    },
    (baseline, candidate) => baseline / candidate,
  );
  const time = (ms: number) => `${formatMs(ms)} (${formatNumber(perSecond(total, ms))} msg/s)`;
  return row(
    id,
    `vs Emmett: catch-up ${formatNumber(total)} msgs, ${mode === 'no-op' ? 'no-op handler' : 'upsert projection'}`,
    result,
    time,
    [
      `${formatNumber(total)} messages in ${Math.ceil(total / BATCH)} streams of ${BATCH}, the only messages in each database; a new consumer id per run; ratio = Emmett time ÷ toolkit time`,
      mode === 'no-op'
        ? `toolkit: createSubscription({ handlers: { $any: no-op counter }, messagesPerTick ${BATCH}, positionUpdateInterval ${BATCH}, wakeUps false }) until waitUntilCaughtUp, then stop(); Emmett: eventStore.consumer({ stopWhen: { noMessagesLeft: true }, pulling: { batchSize ${BATCH}, pullingFrequencyInMs 0 } }).reactor({ eachMessage: no-op counter }), start() until it stops`
        : `toolkit: handleBatch running the upsert (one row per stream, unnest arrays) in the transaction that records the position, messagesPerTick ${BATCH}; Emmett: the same consumer settings with .projector({ projection: postgreSQLProjection({ handle: the same upsert SQL on the processor's transaction }) }) — Emmett calls a projection once per event and stores its checkpoint per event, in one transaction per batch`,
      'pullingFrequencyInMs 0: Emmett pauses between full batches (default 50 ms, which alone would be 5 s per 100,000); 0 keeps only its setTimeout turn',
      ...(mode === 'upsert' ? [`sum(count) of ${COUNTS_TABLE} checked after each run (truncated before)`] : []),
    ],
  );
}

// ---------------------------------------------------------------------------
// Hooked into bench.ts's list of measurements

const GROUPS = [
  {
    id: 'E1-E3',
    name: 'vs Emmett: appends and aggregate',
    run: async (ctx: EmmettContext, sides: Sides) => [
      await measureAppends(ctx, sides, 1),
      await measureAppends(ctx, sides, WRITERS),
      await measureAggregate(ctx, sides),
    ],
  },
  {
    id: 'E4-E5',
    name: 'vs Emmett: catch-up',
    run: async (ctx: EmmettContext, sides: Sides) => {
      const category = uniqueName('benchVsEmmett');
      await seedCatchUp(ctx, sides, category);
      return [
        await measureCatchUp(ctx, sides, category, 'no-op'),
        await measureCatchUp(ctx, sides, category, 'upsert'),
      ];
    },
  },
];

/** bench.ts's entries: each group opens fresh databases for both sides and answers one row per measurement. */
export const emmettMeasurements = GROUPS.map((group) => ({
  id: group.id,
  name: group.name,
  run: async (ctx: EmmettContext): Promise<EmmettResult[]> => {
    // Emmett's event store is PostgreSQL only: no rows on PGlite.
    if (ctx.backend.name !== 'postgres') return [];
    const sides = await openSides(ctx.settings.postgresUrl);
    try {
      return await group.run(ctx, sides);
    } finally {
      await sides.close();
    }
  },
}));
