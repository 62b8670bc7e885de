/**
 * Benchmarks of the message-store toolkit against baselines run in the same
 * process, on PGlite (in memory) and on PostgreSQL (a fresh database, dropped
 * at the end). Prints one table per backend and a summary; always exits 0
 * once it has run (it is a report, not a test).
 *
 *   npm run bench -- --quick
 *   npx tsx packages/message-store/bench/bench.ts --only postgres --postgres postgres://...
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  createMessageStore,
  createSubscription,
  type Logger,
  type Message,
  type MessageStore,
  type StoredMessage,
  type Subscription,
  type SubscriptionOptions,
} from '../src/index.js';
import { openPglite, openPostgres, type Backend, type BackendName } from './backends.js';
import { emmettMeasurements } from './emmett.js';
import { defaultThirdPartySettings, runThirdPartyWriters } from './third-party-writers.js';
import {
  alternate,
  formatMs,
  formatNumber,
  formatRatio,
  median,
  now,
  percentile,
  progress,
  table,
  type Rounds,
} from './harness.js';

const HELP = `Usage: npm run bench -- [options]
       npx tsx packages/message-store/bench/bench.ts [options]

Benchmarks the message-store toolkit against baselines run in the same process
(alternating rounds; the ratio is the median of the per-round ratios, higher is
better) on PGlite in memory and on PostgreSQL.

Options:
  --help                 Show this help.
  --only pglite|postgres Run one backend only (default: both).
  --quick                Smaller sizes, for a smoke run.
  --messages N           Messages for the catch-up measurement (default 100000; 10000 with --quick).
  --upsert-messages N    Messages for the upsert-handler catch-up and the Emmett catch-up rows E4/E5
                         (default min(20000, --messages); 5000 with --quick).
  --rounds N             Alternating rounds per measurement (default 3).
  --rows 3,E4            Only these measurements (ids of the report's # column; the Emmett rows
                         run in two groups, named by their first row: E1 for E1–E3, E4 for E4–E5).
                         The third-party writers table runs only when no --rows is given.
  --no-analyze           Do not ANALYZE message_store.messages after writing the catch-up
                         messages (without statistics the planner reads a category with a
                         bitmap scan + sort of everything after the position: quadratic catch-up).
  --postgres URL         PostgreSQL server to create the benchmark database on
                         (default: $BENCH_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres).
                         A fresh database is created there and dropped at the end.

Progress goes to stderr; the report goes to stdout. Exits 0 whatever the results.
`;

interface Settings {
  quick: boolean;
  rounds: number;
  backends: BackendName[];
  postgresUrl: string;
  /** Writes per round for the single-write measurements. */
  singleWrites: number;
  /** Messages per round for the batched-write measurement (100 per transaction). */
  batchedMessages: number;
  batchSize: number;
  catchUpMessages: number;
  upsertMessages: number;
  latencyWrites: number;
  catchUpTimeoutMs: number;
  /** ANALYZE the messages table after seeding the catch-up measurements. */
  analyze: boolean;
  /** The measurements to run (`--rows`), all when null. */
  rows: string[] | null;
}

interface Result {
  id: string;
  measurement: string;
  baseline: string;
  candidate: string;
  /** Higher is better; null when there is nothing to compare. */
  ratio: number | null;
  target: string;
  /** True/false against the target; null when the row is informational or failed to run. */
  pass: boolean | null;
  error?: string;
  notes: string[];
}

interface Context {
  backend: Backend;
  store: MessageStore;
  settings: Settings;
  logger: CollectingLogger;
}

const WRITE_SQL = 'SELECT message_store.write_message($1, $2, $3, $4::jsonb, $5::jsonb, $6) AS position';
const CATEGORY_SQL = 'SELECT * FROM message_store.get_category_messages($1, $2, 1000)';

// ---------------------------------------------------------------------------
// Settings

function parseSettings(): Settings | null {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      only: { type: 'string' },
      quick: { type: 'boolean' },
      messages: { type: 'string' },
      'upsert-messages': { type: 'string' },
      rounds: { type: 'string' },
      postgres: { type: 'string' },
      'no-analyze': { type: 'boolean' },
      rows: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return null;
  const positiveInteger = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const number = Number(value);
    if (!Number.isInteger(number) || number <= 0) throw new Error(`--${flag} needs a positive integer, not "${value}"`);
    return number;
  };
  const only = values.only;
  if (only !== undefined && only !== 'pglite' && only !== 'postgres')
    throw new Error(`--only takes pglite or postgres, not "${only}"`);
  const quick = values.quick ?? false;
  const catchUpMessages = positiveInteger('messages', values.messages) ?? (quick ? 10_000 : 100_000);
  return {
    quick,
    rounds: positiveInteger('rounds', values.rounds) ?? 3,
    backends: only ? [only] : ['pglite', 'postgres'],
    postgresUrl: values.postgres ?? process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    singleWrites: quick ? 500 : 2_000,
    batchedMessages: quick ? 1_000 : 5_000,
    batchSize: 100,
    catchUpMessages,
    upsertMessages:
      positiveInteger('upsert-messages', values['upsert-messages']) ??
      (quick ? 5_000 : Math.min(20_000, catchUpMessages)),
    latencyWrites: quick ? 50 : 200,
    catchUpTimeoutMs: 600_000,
    analyze: !(values['no-analyze'] ?? false),
    rows: values.rows ? values.rows.split(',').map((row) => row.trim().toUpperCase()) : null,
  };
}

// ---------------------------------------------------------------------------
// Helpers

/** Category names: letters and digits only (no `-`, no `:`), unique per run. */
const uniqueName = (prefix: string) => `${prefix}${randomBytes(4).toString('hex')}`;

function exampleMessage(data: Record<string, unknown> = {}): Message {
  return {
    id: randomUUID(),
    type: 'SomethingHappened',
    data: { attribute: 'some value', number: 1, ...data },
    metadata: { traceId: randomUUID(), userId: randomUUID() },
  };
}

/** Collects what the subscriptions log, so that retries and parked messages show up in the report. */
class CollectingLogger implements Logger {
  entries: { level: string; message: string; details: object }[] = [];
  info() {}
  warn(details: object, message: string) {
    this.entries.push({ level: 'warn', message, details });
  }
  error(details: object, message: string) {
    this.entries.push({ level: 'error', message, details });
  }
  /** Notes for what was logged since `mark`, or none. */
  notesSince(mark: number): string[] {
    const entries = this.entries.slice(mark);
    if (entries.length === 0) return [];
    const first = entries[0]!;
    return [
      `WARNING: subscriptions logged ${entries.length} warning(s)/error(s); first: ${first.level} "${first.message}" ${JSON.stringify(first.details).slice(0, 300)}`,
    ];
  }
}

const perSecond = (count: number, ms: number) => (count * 1000) / ms;

function roundNotes(rounds: Rounds, describe: (value: number) => string) {
  return [
    `rounds (alternating): baseline ${rounds.baseline.map(describe).join(', ')}; candidate ${rounds.candidate.map(describe).join(', ')}; ratios ${rounds.ratios.map((ratio) => formatRatio(ratio)).join(', ')}`,
  ];
}

function judged(result: Omit<Result, 'pass' | 'target'>, minimum: number): Result {
  return {
    ...result,
    target: `≥ ${formatRatio(minimum)}`,
    pass: result.ratio === null ? null : result.ratio >= minimum,
  };
}

/** Writes `count` messages with writeBatch, `batchSize` per transaction, streams chosen by `streamFor(batch)`. */
async function seed(
  ctx: Context,
  label: string,
  count: number,
  batchSize: number,
  streamFor: (batch: number) => string,
) {
  const line = progress(`[${ctx.backend.name}] ${label}`);
  const started = now();
  let written = 0;
  for (let batch = 0; written < count; batch++) {
    const size = Math.min(batchSize, count - written);
    const messages = Array.from({ length: size }, (_, index) => exampleMessage({ index: written + index }));
    await ctx.store.writeBatch(streamFor(batch), messages);
    written += size;
    line.update(written, count);
  }
  const ms = now() - started;
  line.done(`${formatNumber(perSecond(count, ms))} msg/s`);
  if (ctx.settings.analyze) await ctx.backend.db.exec('ANALYZE message_store.messages');
  return ms;
}

const analyzeNote = (ctx: Context) =>
  ctx.settings.analyze
    ? 'ANALYZE message_store.messages ran after writing (as autovacuum would eventually; --no-analyze to skip)'
    : 'no ANALYZE after writing (--no-analyze): the planner may lack statistics for the new rows';

/** Starts a subscription, waits until it has caught up, stops it; answers the time from start to stopped. */
async function runCatchUp(
  ctx: Context,
  label: string,
  options: SubscriptionOptions,
  handled: () => number,
  total: number,
) {
  const line = progress(`[${ctx.backend.name}] ${label}`);
  const stopPolling = line.poll(handled, total);
  const subscription = createSubscription({ ...options, logger: ctx.logger });
  try {
    const started = now();
    await subscription.start();
    await subscription.waitUntilCaughtUp({
      timeoutMs: ctx.settings.catchUpTimeoutMs,
    });
    await subscription.stop();
    const ms = now() - started;
    line.done(`${formatNumber(perSecond(total, ms))} msg/s`);
    return ms;
  } finally {
    stopPolling();
    await subscription.stop().catch(() => {});
  }
}

function expectCount(what: string, actual: number, expected: number) {
  if (actual !== expected) throw new Error(`${what}: handled ${actual} messages, expected ${expected}`);
}

// ---------------------------------------------------------------------------
// 1. Single write: toolkit vs the same SQL through the driver

async function singleWriteLoop(
  ctx: Context,
  label: string,
  count: number,
  write: (stream: string, message: Message) => Promise<unknown>,
) {
  const category = uniqueName('benchSingle');
  const items = Array.from({ length: count }, () => ({
    stream: `${category}-${randomUUID()}`,
    message: exampleMessage(),
  }));
  const line = progress(`[${ctx.backend.name}] ${label}`);
  const started = now();
  for (const [index, { stream, message }] of items.entries()) {
    await write(stream, message);
    if (index % 100 === 99) line.update(index + 1, count);
  }
  const ms = now() - started;
  line.done(`${formatNumber(perSecond(count, ms))} ops/s`);
  return perSecond(count, ms);
}

const toolkitWrite = (ctx: Context) => (stream: string, message: Message) => ctx.store.write(stream, message);

const directWrite = (ctx: Context) => (stream: string, message: Message) =>
  ctx.backend.direct.query(WRITE_SQL, [
    message.id,
    stream,
    message.type,
    JSON.stringify(message.data),
    message.metadata ? JSON.stringify(message.metadata) : null,
    null,
  ]);

async function measureSingleWrite(ctx: Context): Promise<Result> {
  const { rounds, singleWrites } = ctx.settings;
  const warmUp = Math.min(500, singleWrites);
  await singleWriteLoop(ctx, '1 warm-up direct', warmUp, directWrite(ctx));
  await singleWriteLoop(ctx, '1 warm-up toolkit', warmUp, toolkitWrite(ctx));
  const result = await alternate(
    rounds,
    (round) =>
      singleWriteLoop(ctx, `1 single write, direct SQL, round ${round + 1}/${rounds}`, singleWrites, directWrite(ctx)),
    (round) =>
      singleWriteLoop(
        ctx,
        `1 single write, store.write, round ${round + 1}/${rounds}`,
        singleWrites,
        toolkitWrite(ctx),
      ),
    (baseline, candidate) => candidate / baseline,
  );
  const ops = (value: number) => `${formatNumber(value)} ops/s`;
  return judged(
    {
      id: '1',
      measurement: 'single write: store.write vs direct write_message SQL',
      baseline: ops(median(result.baseline)),
      candidate: ops(median(result.candidate)),
      ratio: median(result.ratios),
      notes: [
        `${singleWrites} sequential writes per round, each to a new stream of one category; ratio = toolkit ops/s ÷ direct ops/s`,
        `direct = ${ctx.backend.direct.description}`,
        ...roundNotes(result, ops),
      ],
    },
    0.9,
  );
}

// ---------------------------------------------------------------------------
// 2. Batched writes (100 per transaction) vs single writes

async function batchedWriteLoop(ctx: Context, label: string, count: number) {
  const { batchSize } = ctx.settings;
  const category = uniqueName('benchBatch');
  const batches: { stream: string; messages: Message[] }[] = [];
  for (let written = 0; written < count; written += batchSize)
    batches.push({
      stream: `${category}-${randomUUID()}`,
      messages: Array.from({ length: Math.min(batchSize, count - written) }, () => exampleMessage()),
    });
  const line = progress(`[${ctx.backend.name}] ${label}`);
  const started = now();
  let written = 0;
  for (const { stream, messages } of batches) {
    await ctx.store.writeBatch(stream, messages);
    written += messages.length;
    line.update(written, count);
  }
  const ms = now() - started;
  line.done(`${formatNumber(perSecond(count, ms))} msg/s`);
  return perSecond(count, ms);
}

async function measureBatchedWrites(ctx: Context): Promise<Result> {
  const { rounds, singleWrites, batchedMessages, batchSize } = ctx.settings;
  await batchedWriteLoop(ctx, '2 warm-up writeBatch', Math.min(1_000, batchedMessages));
  const result = await alternate(
    rounds,
    (round) =>
      singleWriteLoop(
        ctx,
        `2 single writes, store.write, round ${round + 1}/${rounds}`,
        singleWrites,
        toolkitWrite(ctx),
      ),
    (round) => batchedWriteLoop(ctx, `2 writeBatch of ${batchSize}, round ${round + 1}/${rounds}`, batchedMessages),
    (baseline, candidate) => candidate / baseline,
  );
  const rate = (value: number) => `${formatNumber(value)} msg/s`;
  return judged(
    {
      id: '2',
      measurement: `batched writes: writeBatch (${batchSize}/tx) vs store.write`,
      baseline: rate(median(result.baseline)),
      candidate: rate(median(result.candidate)),
      ratio: median(result.ratios),
      notes: [
        `baseline: ${singleWrites} sequential store.write per round; candidate: ${batchedMessages} messages per round in writeBatch calls of ${batchSize}, one new stream per batch; ratio = messages/s ÷ messages/s`,
        ...roundNotes(result, rate),
      ],
    },
    3,
  );
}

// ---------------------------------------------------------------------------
// 3. Catch-up, no-op handler: subscription vs a bare loop of category reads

async function bareCategoryLoop(ctx: Context, label: string, category: string, total: number) {
  const line = progress(`[${ctx.backend.name}] ${label}`);
  const started = now();
  let position = 1;
  let read = 0;
  for (;;) {
    const rows = await ctx.backend.direct.query(CATEGORY_SQL, [category, position]);
    read += rows.length;
    line.update(read, total);
    const last = rows[rows.length - 1];
    if (!last || rows.length < 1000) break;
    position = Number(last.global_position) + 1;
  }
  const ms = now() - started;
  expectCount('bare category loop', read, total);
  line.done(`${formatNumber(perSecond(total, ms))} msg/s`);
  return ms;
}

async function measureCatchUp(ctx: Context): Promise<Result> {
  const { rounds, catchUpMessages: total } = ctx.settings;
  const category = uniqueName('benchCatchUp');
  const seedMs = await seed(
    ctx,
    `3 writing ${formatNumber(total)} messages (writeBatch of 1000)`,
    total,
    1000,
    (batch) => `${category}-${batch}`,
  );
  const mark = ctx.logger.entries.length;
  const subscriptionRun = async (round: number) => {
    let handled = 0;
    const ms = await runCatchUp(
      ctx,
      `3 catch-up, subscription, round ${round + 1}/${rounds}`,
      {
        store: ctx.store,
        streamName: category,
        subscriberId: uniqueName(`benchCatchUp${round}x`),
        handlers: {
          $any: () => {
            handled++;
          },
        },
        messagesPerTick: 1000,
        positionUpdateInterval: 1000,
        wakeUps: false,
      },
      () => handled,
      total,
    );
    expectCount('subscription', handled, total);
    return ms;
  };
  const result = await alternate(
    rounds,
    (round) =>
      bareCategoryLoop(
        ctx,
        `3 catch-up, bare get_category_messages loop, round ${round + 1}/${rounds}`,
        category,
        total,
      ),
    subscriptionRun,
    (baseline, candidate) => baseline / candidate,
  );
  const time = (ms: number) => `${formatMs(ms)} (${formatNumber(perSecond(total, ms))} msg/s)`;
  return judged(
    {
      id: '3',
      measurement: `catch-up ${formatNumber(total)} msgs, no-op handler: subscription vs bare SQL loop`,
      baseline: time(median(result.baseline)),
      candidate: time(median(result.candidate)),
      ratio: median(result.ratios),
      notes: [
        `${formatNumber(total)} messages in ${Math.ceil(total / 1000)} streams of one category (written in ${formatMs(seedMs)})`,
        `candidate: createSubscription({ handlers: { $any: no-op counter }, messagesPerTick: 1000, positionUpdateInterval: 1000, wakeUps: false }), timed from start() to stop() after waitUntilCaughtUp`,
        `baseline: "${CATEGORY_SQL}" from global position 1 until a short batch, through ${ctx.backend.direct.description}`,
        'ratio = bare time ÷ subscription time',
        analyzeNote(ctx),
        ...roundNotes(result, formatMs),
        ...ctx.logger.notesSince(mark),
      ],
    },
    0.8,
  );
}

// ---------------------------------------------------------------------------
// 4. Catch-up with an idempotent upsert: batch mode vs one query per message

const COUNTS_TABLE = 'public.bench_counts';

const UPSERT_ONE_SQL = `INSERT INTO ${COUNTS_TABLE} AS counts (stream_name, count, last_global_position)
  VALUES ($1, 1, $2)
  ON CONFLICT (stream_name) DO UPDATE
    SET count = counts.count + 1, last_global_position = EXCLUDED.last_global_position
    WHERE counts.last_global_position < EXCLUDED.last_global_position`;

const UPSERT_MANY_SQL = `INSERT INTO ${COUNTS_TABLE} AS counts (stream_name, count, last_global_position)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
  ON CONFLICT (stream_name) DO UPDATE
    SET count = counts.count + EXCLUDED.count, last_global_position = EXCLUDED.last_global_position
    WHERE counts.last_global_position < EXCLUDED.last_global_position`;

async function countedTotal(ctx: Context) {
  const [row] = await ctx.backend.db.query<{ total: string | number | null }>(
    `SELECT sum(count) AS total FROM ${COUNTS_TABLE}`,
  );
  return Number(row?.total ?? 0);
}

async function measureUpsertCatchUp(ctx: Context): Promise<Result> {
  const { rounds, upsertMessages: total } = ctx.settings;
  const db = ctx.backend.db;
  const category = uniqueName('benchUpsert');
  const streams = 50;
  const seedMs = await seed(
    ctx,
    `4 writing ${formatNumber(total)} messages (writeBatch of 100, ${streams} streams round-robin)`,
    total,
    100,
    (batch) => `${category}-${batch % streams}`,
  );
  await db.exec(`CREATE TABLE IF NOT EXISTS ${COUNTS_TABLE} (
    stream_name text PRIMARY KEY,
    count int NOT NULL,
    last_global_position bigint NOT NULL
  )`);
  const mark = ctx.logger.entries.length;

  const run = async (mode: 'per-message' | 'batch', round: number) => {
    await db.exec(`TRUNCATE ${COUNTS_TABLE}`);
    let handled = 0;
    const common = {
      store: ctx.store,
      streamName: category,
      subscriberId: uniqueName(`benchUpsert${mode === 'batch' ? 'Batch' : 'One'}${round}x`),
      messagesPerTick: 1000,
      positionUpdateInterval: 1000,
      wakeUps: false,
    };
    const options: SubscriptionOptions =
      mode === 'batch'
        ? {
            ...common,
            handleBatch: async (messages, tx) => {
              const byStream = new Map<string, { count: number; last: number }>();
              for (const message of messages) {
                const entry = byStream.get(message.streamName);
                if (entry) {
                  entry.count++;
                  entry.last = Math.max(entry.last, message.globalPosition);
                } else
                  byStream.set(message.streamName, {
                    count: 1,
                    last: message.globalPosition,
                  });
              }
              const entries = [...byStream];
              await tx.query(UPSERT_MANY_SQL, [
                entries.map(([stream]) => stream),
                entries.map(([, { count }]) => count),
                entries.map(([, { last }]) => last),
              ]);
              handled += messages.length;
            },
          }
        : {
            ...common,
            handlers: {
              $any: async (message: StoredMessage) => {
                await db.query(UPSERT_ONE_SQL, [message.streamName, message.globalPosition]);
                handled++;
              },
            },
          };
    const ms = await runCatchUp(
      ctx,
      `4 upsert catch-up, ${mode === 'batch' ? 'handleBatch' : 'one query per message'}, round ${round + 1}/${rounds}`,
      options,
      () => handled,
      total,
    );
    expectCount(`${mode} subscription`, handled, total);
    expectCount(`${mode} upserted counts`, await countedTotal(ctx), total);
    return ms;
  };

  const result = await alternate(
    rounds,
    (round) => run('per-message', round),
    (round) => run('batch', round),
    (baseline, candidate) => baseline / candidate,
  );
  await db.exec(`DROP TABLE ${COUNTS_TABLE}`);
  const time = (ms: number) => `${formatMs(ms)} (${formatNumber(perSecond(total, ms))} msg/s)`;
  return judged(
    {
      id: '4',
      measurement: `catch-up ${formatNumber(total)} msgs, idempotent upsert: handleBatch vs one query per message`,
      baseline: time(median(result.baseline)),
      candidate: time(median(result.candidate)),
      ratio: median(result.ratios),
      notes: [
        `${formatNumber(total)} messages (smaller than the no-op catch-up: the per-message variant is slow), ${streams} streams of one category (written in ${formatMs(seedMs)})`,
        `baseline (the book's design): handlers.$any runs one INSERT ... ON CONFLICT DO UPDATE ... WHERE last_global_position < EXCLUDED per message via db.query`,
        'candidate: handleBatch aggregates counts per stream in JS and runs one multi-row upsert (unnest arrays) per batch via tx.query, in the transaction that records the position',
        'both: messagesPerTick 1000, positionUpdateInterval 1000, wakeUps false; table truncated and a new subscriberId per run; sum(count) checked after each run',
        'ratio = per-message time ÷ batch time',
        analyzeNote(ctx),
        ...roundNotes(result, formatMs),
        ...ctx.logger.notesSince(mark),
      ],
    },
    5,
  );
}

// ---------------------------------------------------------------------------
// 5. Latency from write to handler: wake-ups vs 100 ms polling

async function latencyRun(ctx: Context, wakeUps: boolean, round: number, rounds: number) {
  const count = ctx.settings.latencyWrites;
  const category = uniqueName('benchLatency');
  const latencies: number[] = [];
  let allHandled: () => void = () => {};
  const done = new Promise<void>((resolve) => (allHandled = resolve));
  const subscription: Subscription = createSubscription({
    store: ctx.store,
    streamName: category,
    subscriberId: uniqueName(`benchLatency${wakeUps ? 'Wake' : 'Poll'}${round}x`),
    handlers: {
      $any: (message) => {
        latencies.push(performance.now() - Number(message.data.sentAt));
        if (latencies.length >= count) allHandled();
      },
    },
    wakeUps,
    ...(wakeUps ? {} : { tickIntervalMs: 100 }),
    logger: ctx.logger,
  });
  const line = progress(
    `[${ctx.backend.name}] 5 latency, ${wakeUps ? 'wake-ups' : '100 ms polling'}, round ${round + 1}/${rounds}`,
  );
  try {
    await subscription.start();
    await subscription.waitUntilCaughtUp({ timeoutMs: 30_000 });
    for (let index = 0; index < count; index++) {
      await sleep(10 + Math.random() * 20);
      await ctx.store.write(`${category}-${randomUUID()}`, {
        id: randomUUID(),
        type: 'Pinged',
        data: { sentAt: performance.now() },
      });
      line.update(index + 1, count);
    }
    await Promise.race([done, sleep(10_000)]);
    line.done(`p50 ${formatMs(percentile(latencies, 50))}`);
  } finally {
    await subscription.stop();
  }
  return { latencies, lost: count - latencies.length };
}

async function measureLatency(ctx: Context): Promise<Result> {
  const { rounds, latencyWrites } = ctx.settings;
  const polling: number[] = [];
  const wakeUps: number[] = [];
  let lost = 0;
  const mark = ctx.logger.entries.length;
  const result = await alternate(
    rounds,
    async (round) => {
      const run = await latencyRun(ctx, false, round, rounds);
      polling.push(...run.latencies);
      lost += run.lost;
      return percentile(run.latencies, 50);
    },
    async (round) => {
      const run = await latencyRun(ctx, true, round, rounds);
      wakeUps.push(...run.latencies);
      lost += run.lost;
      return percentile(run.latencies, 50);
    },
    (baseline, candidate) => baseline / candidate,
  );
  const describe = (values: number[]) =>
    `p50 ${formatMs(percentile(values, 50))}, p99 ${formatMs(percentile(values, 99))}`;
  const p50Ratio = percentile(polling, 50) / percentile(wakeUps, 50);
  return {
    id: '5',
    measurement: 'latency write → handler: wake-ups vs 100 ms polling',
    baseline: describe(polling),
    candidate: describe(wakeUps),
    ratio: Number.isFinite(p50Ratio) ? p50Ratio : null,
    target: 'report only',
    pass: null,
    notes: [
      `${latencyWrites} writes per run, ${rounds} runs per variant, ~20 ms apart (10–30 ms random), each to a new stream of a fresh category; sentAt = performance.now() just before store.write, latency = handler's performance.now() − sentAt (includes the write itself)`,
      'baseline: wakeUps false, tickIntervalMs 100; candidate: wakeUps true (default fallback poll); p50/p99 over all runs pooled',
      `ratio = polling p50 ÷ wake-up p50 (per-run p50 ratios: ${result.ratios.map((ratio) => formatRatio(ratio)).join(', ')})`,
      ...(lost > 0 ? [`WARNING: ${lost} message(s) never reached the handler`] : []),
      ...ctx.logger.notesSince(mark),
    ],
  };
}

// ---------------------------------------------------------------------------
// Running and reporting

const MEASUREMENTS: {
  id: string;
  name: string;
  run: (ctx: Context) => Promise<Result | Result[]>;
}[] = [
  { id: '1', name: 'single write', run: measureSingleWrite },
  { id: '2', name: 'batched writes', run: measureBatchedWrites },
  { id: '3', name: 'catch-up, no-op handler', run: measureCatchUp },
  { id: '4', name: 'catch-up, upsert handler', run: measureUpsertCatchUp },
  { id: '5', name: 'latency write → handler', run: measureLatency },
  ...emmettMeasurements,
];

interface BackendReport {
  name: BackendName;
  description: string;
  results: Result[];
  error?: string;
}

function errorText(error: unknown) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

let closeCurrent: (() => Promise<void>) | undefined;
let interrupted = false;

async function runBackend(name: BackendName, settings: Settings): Promise<BackendReport> {
  process.stderr.write(`\n== ${name} ==\n`);
  let backend: Backend;
  try {
    backend = name === 'pglite' ? await openPglite() : await openPostgres(settings.postgresUrl);
  } catch (error) {
    return {
      name,
      description: name === 'postgres' ? `PostgreSQL at ${settings.postgresUrl}` : name,
      results: [],
      error: `could not open: ${errorText(error)}`,
    };
  }
  closeCurrent = () => backend.close();
  const ctx: Context = {
    backend,
    store: createMessageStore({ db: backend.db }),
    settings,
    logger: new CollectingLogger(),
  };
  const results: Result[] = [];
  try {
    for (const measurement of MEASUREMENTS) {
      if (interrupted) break;
      if (settings.rows && !settings.rows.some((row) => measurement.id.toUpperCase().split(/[–-]/).includes(row)))
        continue;
      try {
        results.push(...[await measurement.run(ctx)].flat());
      } catch (error) {
        if (interrupted) break;
        process.stderr.write(`\n[${name}] ${measurement.id} ${measurement.name} failed: ${errorText(error)}\n`);
        results.push({
          id: measurement.id,
          measurement: measurement.name,
          baseline: '—',
          candidate: '—',
          ratio: null,
          target: '—',
          pass: null,
          error: errorText(error),
          notes: [],
        });
      }
    }
  } finally {
    closeCurrent = undefined;
    await backend.close().catch((error: unknown) => {
      process.stderr.write(`[${name}] closing failed: ${errorText(error)}\n`);
    });
  }
  return { name, description: backend.description, results };
}

function verdict(result: Result) {
  if (result.error) return 'ERROR';
  if (result.pass === null) return 'INFO';
  return result.pass ? 'PASS' : 'FAIL';
}

function printBackend(report: BackendReport) {
  const out: string[] = [];
  out.push('', `== ${report.name}: ${report.description} ==`);
  if (report.error) {
    out.push(`not run: ${report.error}`);
    console.log(out.join('\n'));
    return;
  }
  out.push(
    table(
      ['#', 'measurement', 'baseline', 'candidate', 'ratio', 'target', 'result'],
      report.results.map((result) => [
        result.id,
        result.measurement,
        result.baseline,
        result.candidate,
        formatRatio(result.ratio),
        result.target,
        verdict(result),
      ]),
    ),
  );
  out.push('', 'notes:');
  for (const result of report.results) {
    if (result.error) out.push(`  ${result.id}. ERROR: ${result.error}`);
    for (const note of result.notes) out.push(`  ${result.id}. ${note}`);
  }
  console.log(out.join('\n'));
}

function printSummary(reports: BackendReport[]) {
  const out: string[] = ['', '== summary =='];
  for (const report of reports) {
    if (report.error) {
      out.push(`${report.name}: not run (${report.error})`);
      continue;
    }
    const counts = new Map<string, number>();
    for (const result of report.results) {
      const key = verdict(result);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    out.push(
      `${report.name}: ${['PASS', 'FAIL', 'INFO', 'ERROR']
        .filter((key) => counts.has(key))
        .map((key) => `${counts.get(key)} ${key}`)
        .join(', ')}`,
    );
    for (const result of report.results) {
      const key = verdict(result);
      if (key === 'FAIL')
        out.push(`  FAIL  ${result.id} ${result.measurement}: ${formatRatio(result.ratio)} (target ${result.target})`);
      if (key === 'ERROR') out.push(`  ERROR ${result.id} ${result.measurement}: ${result.error}`);
    }
  }
  out.push(
    '',
    'Ratios are higher-is-better: the median of per-round ratios from alternating baseline/candidate runs in this process.',
    'This is a report: the exit status is 0 whatever the results.',
  );
  console.log(out.join('\n'));
}

async function main() {
  let settings: Settings | null;
  try {
    settings = parseSettings();
  } catch (error) {
    process.stderr.write(`${errorText(error)}\n\n${HELP}`);
    process.exit(2);
  }
  if (!settings) {
    process.stdout.write(HELP);
    return;
  }
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: cleaning up\n');
    void (closeCurrent?.() ?? Promise.resolve()).catch(() => {}).finally(() => process.exit(130));
  });

  const postgresShown = settings.postgresUrl.replace(/:[^:@/]*@/, ':***@');
  console.log(
    [
      `message-store benchmark — ${new Date().toISOString()}, Node ${process.version}, ${process.platform}/${process.arch}`,
      `settings: ${settings.quick ? 'quick' : 'full'}, ${settings.rounds} alternating rounds, backends ${settings.backends.join(', ')}` +
        `, single writes ${settings.singleWrites}/round, batched ${settings.batchedMessages}/round, catch-up ${settings.catchUpMessages}` +
        `, upsert catch-up ${settings.upsertMessages}, latency ${settings.latencyWrites} writes/run` +
        (settings.analyze ? '' : ', no ANALYZE') +
        (settings.backends.includes('postgres') ? `, postgres ${postgresShown}` : ''),
    ].join('\n'),
  );

  const reports: BackendReport[] = [];
  for (const name of settings.backends) {
    const report = await runBackend(name, settings);
    reports.push(report);
    printBackend(report);
  }
  printSummary(reports);
  if (settings.backends.includes('postgres') && !interrupted && !settings.rows)
    console.log(
      await runThirdPartyWriters(defaultThirdPartySettings(settings.postgresUrl, settings.quick)).catch(
        (error: unknown) => `third-party writers not measured: ${errorText(error)}`,
      ),
    );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(0);
  },
);
