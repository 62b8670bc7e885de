/**
 * What wake-up designs cost writers that are not this toolkit: pgbench clients calling
 * `write_message` with random ids, on fresh databases of one server, in alternating runs.
 * Every design is a ratio to plain Message DB measured in the same round. Also the latency from
 * a third party's `write_message` to a handler of this process.
 *
 *   npx tsx packages/message-store/bench/third-party-writers.ts [--rounds 3] [--seconds 10]
 *     [--designs plain,row-trigger,...] [--system] [--postgres URL]
 *
 * `--system` runs the whole Video Tutorials system (`npm start`) on the database instead of the
 * toolkit's consumers alone. Part of `npm run bench` with its defaults (PostgreSQL only).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createFreshPostgresDatabase } from '../src/controls/database.js';
import {
  createMessageStore,
  createSubscription,
  installMessageDb,
  type Database,
  type MessageStore,
  type Subscription,
  tablePositions,
  wakeUpsFor,
  type WatcherOptions,
} from '../src/index.js';
import { createPostgresDatabase } from '../src/postgres.js';
import { formatNumber, median, percentile, table } from './harness.js';

export type Design =
  | 'plain'
  | 'row-trigger'
  | 'statement-trigger'
  | 'notify-after-commit'
  | 'watcher'
  | 'watcher-alone'
  | 'all-consumers'
  | 'system'
  | 'system-without-admin'
  | 'system-without-message-index'
  | 'system-without-admin-streams';

// The pieces `npm start -- --only` knows, less the four `$all` admin aggregators (a piece added to
// the system must be added here too, or the "without" designs measure a system without it).
const NON_ADMIN_PIECES = [
  'account-sessions-aggregator',
  'catalogue-aggregator',
  'creators-videos-aggregator',
  'home-page-aggregator',
  'identity',
  'registration-monitor',
  'send-email',
  'transcode',
  'transcribe',
  'user-credentials-aggregator',
  'video-operations-aggregator',
  'video-publishing',
  'video-views-aggregator',
];
const SYSTEM_ARGUMENTS: Partial<Record<Design, string[]>> = {
  system: [],
  'system-without-admin': ['--web', '--only', NON_ADMIN_PIECES.join(',')],
  'system-without-message-index': [
    '--web',
    '--only',
    [
      ...NON_ADMIN_PIECES,
      'admin-streams-aggregator',
      'admin-users-aggregator',
      'admin-subscriber-positions-aggregator',
    ].join(','),
  ],
  'system-without-admin-streams': [
    '--web',
    '--only',
    [
      ...NON_ADMIN_PIECES,
      'admin-message-index-aggregator',
      'admin-users-aggregator',
      'admin-subscriber-positions-aggregator',
    ].join(','),
  ],
};

const DESCRIPTIONS: Record<Design, string> = {
  plain: 'plain Message DB (the package SQL only), nothing running',
  'row-trigger': 'per-row AFTER INSERT trigger calling pg_notify (the former design), one LISTEN connection',
  'statement-trigger': 'statement-level AFTER INSERT trigger, pg_notify per distinct category, one LISTEN connection',
  'notify-after-commit':
    'each write followed by pg_notify in its own transaction (uncoalesced upper bound), one LISTEN',
  watcher: 'toolkit installed, a process running subscriptions on the 8 categories (the wake-up watcher)',
  'watcher-alone':
    'toolkit installed, the wake-up watcher of a process with listeners on the 8 categories, no consumers',
  'all-consumers':
    'toolkit installed, a process running four $all subscriptions (no-op batch handlers, positions in a table), as the admin aggregators',
  system: 'the whole Video Tutorials system (npm start) running on the database',
  'system-without-admin': 'the system without its four $all admin aggregators (npm start -- --web --only …)',
  'system-without-message-index': 'the system without the admin-message-index aggregator',
  'system-without-admin-streams': 'the system without the admin-streams aggregator',
};

const CHANNEL = 'bench_written';
const ROW_TRIGGER_SQL = `
CREATE FUNCTION message_store.bench_notify_row() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('${CHANNEL}', split_part(NEW.stream_name, '-', 1));
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bench_notify_row AFTER INSERT ON message_store.messages
  FOR EACH ROW EXECUTE FUNCTION message_store.bench_notify_row();`;
const STATEMENT_TRIGGER_SQL = `
CREATE FUNCTION message_store.bench_notify_statement() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('${CHANNEL}', category) FROM (SELECT DISTINCT split_part(stream_name, '-', 1) AS category FROM new_rows) AS categories;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER bench_notify_statement AFTER INSERT ON message_store.messages
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION message_store.bench_notify_statement();`;

const writeScript = (categories: number, notify: boolean) => `\\set id random(1, 1000000000)
\\set category random(1, ${categories})
SELECT message_store.write_message(gen_random_uuid()::text, 'benchWriter' || :category || '-' || :id, 'Written', '{"a":1}'::jsonb);
${notify ? `SELECT pg_notify('${CHANNEL}', 'benchWriter' || :category);\n` : ''}`;

export interface ThirdPartySettings {
  postgresUrl: string;
  rounds: number;
  seconds: number;
  clients: number;
  categoryCounts: number[];
  designs: Design[];
  latencyWrites: number;
  /** The watcher's intervals; its defaults when absent. */
  watcher?: WatcherOptions;
}

interface Running {
  stop(): Promise<void>;
  /** The process that runs the design, when it is not this one. */
  pid?: number;
}

/** CPU time (user + system) of a process so far, in ms; null once it is gone. */
async function processCpuMs(pid: number): Promise<number | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The CPU a run costs besides the writers' own client: every PostgreSQL backend of the run's
 * database (the writers' backends, the design's connections, autovacuum) and the design's process,
 * so a report says where a design's cost goes (PostgreSQL's work, or the consumers' own). Linux
 * only (/proc); backends are found every 200 ms, so one that lives less than that is missed.
 */
async function startCpuMeter(admin: pg.Client, database: string, designPid: number | undefined) {
  const seen = new Map<number, { first: number; last: number }>();
  const backends = async () =>
    (await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])).rows.map(
      (row) => row.pid,
    );
  const sample = async (startingNow: boolean) => {
    const pids = await backends().catch(() => [] as number[]);
    for (const pid of [...pids, ...seen.keys()]) {
      const cpu = await processCpuMs(pid);
      if (cpu === null) continue;
      const entry = seen.get(pid);
      // A backend that appears during the run was made for it: all its CPU counts.
      if (entry) entry.last = cpu;
      else seen.set(pid, { first: startingNow ? cpu : 0, last: cpu });
    }
  };
  await sample(true);
  const designStart = designPid === undefined ? process.cpuUsage() : await processCpuMs(designPid);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await sample(false);
    }
  })();
  return {
    /** CPU ms used since the start: by the database's backends, and by the design's process. */
    async stop(): Promise<{ databaseMs: number; designMs: number }> {
      sampling = false;
      await sampler;
      await sample(false);
      let databaseMs = 0;
      for (const { first, last } of seen.values()) databaseMs += last - first;
      let designMs: number;
      if (designPid === undefined) {
        const used = process.cpuUsage(designStart as NodeJS.CpuUsage);
        designMs = (used.user + used.system) / 1000;
      } else designMs = ((await processCpuMs(designPid)) ?? 0) - ((designStart as number | null) ?? 0);
      return { databaseMs, designMs };
    },
  };
}

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Starts what `design` runs beside the writers, on a database that has Message DB installed. */
async function startDesign(design: Design, connectionString: string, categories: number): Promise<Running> {
  const listen = async () => {
    const client = new pg.Client({ connectionString });
    client.on('error', () => {});
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    return { stop: () => client.end() };
  };
  const admin = new pg.Client({ connectionString });
  await admin.connect();
  try {
    if (design === 'row-trigger') await admin.query(ROW_TRIGGER_SQL);
    if (design === 'statement-trigger') await admin.query(STATEMENT_TRIGGER_SQL);
  } finally {
    await admin.end();
  }
  if (design === 'plain') return { stop: async () => {} };
  if (design === 'row-trigger' || design === 'statement-trigger' || design === 'notify-after-commit') return listen();
  if (design === 'watcher') return startConsumers(connectionString, categories);
  if (design === 'all-consumers') return startAllConsumers(connectionString);
  if (design === 'watcher-alone') return startWatcherAlone(connectionString, categories);
  return startSystem(connectionString, SYSTEM_ARGUMENTS[design] ?? []);
}

/** The watcher intervals of this run (its defaults unless `--watch-intervals`). */
let watcherOptions: WatcherOptions | undefined;

async function startConsumers(connectionString: string, categories: number): Promise<Running> {
  const db = createPostgresDatabase({ connectionString, max: 5 });
  wakeUpsFor(db, watcherOptions);
  const store = createMessageStore({ db });
  const subscriptions: Subscription[] = [];
  for (let category = 1; category <= categories; category++) {
    const subscription = createSubscription({
      store,
      streamName: `benchWriter${category}`,
      subscriberId: `benchWriterConsumer${category}`,
      handlers: { $any: () => {} },
    });
    await subscription.start();
    subscriptions.push(subscription);
  }
  return {
    async stop() {
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
      await db.close();
    },
  };
}

async function startAllConsumers(connectionString: string): Promise<Running> {
  const db = createPostgresDatabase({ connectionString, max: 5 });
  wakeUpsFor(db, watcherOptions);
  const store = createMessageStore({ db });
  // Positions in a table of the same database, recorded with each batch, as the admin aggregators keep theirs in View Data.
  const positions = tablePositions(db, { table: 'bench_all_positions' });
  await positions.ensure();
  const subscriptions: Subscription[] = [];
  for (let each = 1; each <= 4; each++) {
    const subscription = createSubscription({
      store,
      streamName: '$all',
      subscriberId: `benchAllConsumer${each}`,
      handleBatch: async () => {},
      positions,
    });
    await subscription.start();
    subscriptions.push(subscription);
  }
  return {
    async stop() {
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
      await db.close();
    },
  };
}

async function startWatcherAlone(connectionString: string, categories: number): Promise<Running> {
  const db = createPostgresDatabase({ connectionString, max: 1 });
  const wakeUps = wakeUpsFor(db, watcherOptions);
  const unsubscribers: (() => Promise<void>)[] = [];
  for (let category = 1; category <= categories; category++)
    unsubscribers.push(await wakeUps.subscribe(`benchWriter${category}`, () => {}));
  return {
    async stop() {
      await Promise.all(unsubscribers.map((each) => each()));
      await db.close();
    },
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

async function startSystem(connectionString: string, args: string[]): Promise<Running> {
  const port = await freePort();
  const dataDirectory = await mkdtemp(path.join(tmpdir(), 'bench-system-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', 'packages/video-tutorials/src/main.ts', 'start', ...args],
    {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        MESSAGE_STORE_CONNECTION_STRING: connectionString,
        DATABASE_URL: connectionString,
        PORT: String(port),
        DATA_DIRECTORY: dataDirectory,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'development',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the system exited: ${stderr}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      (response) => response.status < 500,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`the system did not answer within 120 s: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return {
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      await rm(dataDirectory, { recursive: true, force: true });
    },
  };
}

async function pgbench(
  connectionString: string,
  script: string,
  clients: number,
  seconds: number,
): Promise<{ tps: number; transactions: number }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'bench-pgbench-'));
  try {
    const file = path.join(directory, 'write.sql');
    await writeFile(file, script);
    const child = spawn(
      'pgbench',
      ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', file, connectionString],
      // Message DB's functions call each other unqualified: its role's search path, as a writer has it.
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGOPTIONS: '-c search_path=message_store,public' } },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    const match = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
    const processed = /number of transactions actually processed: (\d+)/.exec(output);
    if (code !== 0 || !match?.[1] || !processed?.[1])
      throw new Error(`pgbench failed (${code}): ${output.slice(-2000)}`);
    return { tps: Number(match[1]), transactions: Number(processed[1]) };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** What one run measured: the writers' throughput, and the CPU each 1,000 writes cost besides their client. */
interface RunMeasurement {
  tps: number;
  /** CPU ms of the database's backends, and of the design's process, per 1,000 writes. */
  databaseCpu: number;
  designCpu: number;
}

/** One run: a fresh database, Message DB installed, the design started, pgbench, dropped. */
async function runOnce(settings: ThirdPartySettings, design: Design, categories: number): Promise<RunMeasurement> {
  const fresh = await createFreshPostgresDatabase(settings.postgresUrl, 'message_store_bench_writers');
  const admin = new pg.Client({ connectionString: settings.postgresUrl });
  await admin.connect();
  try {
    const db = createPostgresDatabase({ connectionString: fresh.connectionString, max: 1 });
    try {
      await installMessageDb(db);
    } finally {
      await db.close();
    }
    const running = await startDesign(design, fresh.connectionString, categories);
    try {
      const script = writeScript(categories, design === 'notify-after-commit');
      const meter = await startCpuMeter(admin, fresh.name, running.pid);
      const { tps, transactions } = await pgbench(fresh.connectionString, script, settings.clients, settings.seconds);
      const cpu = await meter.stop();
      const perThousand = (ms: number) => (ms * 1000) / Math.max(1, transactions);
      return { tps, databaseCpu: perThousand(cpu.databaseMs), designCpu: perThousand(cpu.designMs) };
    } finally {
      await running.stop();
    }
  } finally {
    await admin.end().catch(() => {});
    await fresh.drop();
  }
}

/**
 * Latency from a `write_message` on another connection to the handler: with the watcher idle, or
 * `underLoad` — while pgbench's writers write 8 categories whose consumers run in this process too,
 * so the watcher looks at its busy interval and the probe's category waits its coalescing turns.
 */
async function measureLatency(
  settings: ThirdPartySettings,
  underLoad = false,
): Promise<{ latencies: number[]; writes: number[]; afterReturn: number[] }> {
  const fresh = await createFreshPostgresDatabase(settings.postgresUrl, 'message_store_bench_latency');
  let db: Database | undefined;
  const writer = new pg.Client({
    connectionString: fresh.connectionString,
    options: '-c search_path=message_store,public',
  });
  try {
    db = createPostgresDatabase({ connectionString: fresh.connectionString, max: 3 });
    await installMessageDb(db);
    wakeUpsFor(db, settings.watcher);
    await writer.connect();
    const store = createMessageStore({ db });
    const written = new Map<string, number>();
    const latencies: number[] = [];
    const writes: number[] = [];
    const afterReturn: number[] = [];
    const returned = new Map<string, number>();
    let handledOne: () => void = () => {};
    const subscription = createSubscription({
      store,
      streamName: 'benchLatency',
      subscriberId: 'benchLatencyConsumer',
      handlers: {
        $any: (message) => {
          const started = written.get(message.id);
          if (started !== undefined) latencies.push(performance.now() - started);
          const back = returned.get(message.id);
          afterReturn.push(back === undefined ? 0 : Math.max(0, performance.now() - back));
          handledOne();
        },
      },
    });
    await subscription.start();
    const load = underLoad ? await startLoad(store, fresh.connectionString, settings.clients) : null;
    try {
      for (let write = 0; write < settings.latencyWrites; write++) {
        const id = randomUUID();
        const handled = new Promise<void>((resolve) => (handledOne = resolve));
        const started = performance.now();
        written.set(id, started);
        await writer.query(`SELECT message_store.write_message($1, $2, 'Written', '{}'::jsonb)`, [
          id,
          `benchLatency-${write}`,
        ]);
        writes.push(performance.now() - started);
        returned.set(id, performance.now());
        await Promise.race([handled, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        // Spaced out, so that each write finds the watcher backed off to its idle interval.
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
      }
    } finally {
      await load?.stop();
      await subscription.stop();
    }
    return { latencies, writes, afterReturn };
  } finally {
    await writer.end().catch(() => {});
    await db?.close().catch(() => {});
    await fresh.drop();
  }
}

/** pgbench writing 8 categories until stopped, with a no-op consumer of each in this process. */
async function startLoad(store: MessageStore, connectionString: string, clients: number) {
  const consumers: Subscription[] = [];
  for (let category = 1; category <= 8; category++) {
    const consumer = createSubscription({
      store,
      streamName: `benchWriter${category}`,
      subscriberId: `benchWriterConsumer${category}`,
      handlers: { $any: () => {} },
    });
    await consumer.start();
    consumers.push(consumer);
  }
  const directory = await mkdtemp(path.join(tmpdir(), 'bench-pgbench-'));
  const file = path.join(directory, 'write.sql');
  await writeFile(file, writeScript(8, false));
  const child = spawn('pgbench', ['-n', '-c', String(clients), '-j', '2', '-T', '600', '-f', file, connectionString], {
    stdio: 'ignore',
    env: { ...process.env, PGOPTIONS: '-c search_path=message_store,public' },
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // the writers connected and busy
  return {
    async stop() {
      child.kill('SIGINT');
      if (child.exitCode === null) await once(child, 'exit');
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export async function runThirdPartyWriters(settings: ThirdPartySettings): Promise<string> {
  watcherOptions = settings.watcher;
  const lines: string[] = [];
  const candidates = settings.designs.filter((design) => design !== 'plain');
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const categories of settings.categoryCounts) {
    const tps = new Map<Design, number[]>([['plain', []], ...candidates.map((d) => [d, []] as [Design, number[]])]);
    const databaseCpu = new Map<Design, number[]>([
      ['plain', []],
      ...candidates.map((d) => [d, []] as [Design, number[]]),
    ]);
    const designCpu = new Map<Design, number[]>(candidates.map((d) => [d, []]));
    const ratios = new Map<Design, number[]>(candidates.map((d) => [d, []]));
    for (let round = 0; round < settings.rounds; round++) {
      // Each design in a pair with a plain run next to it, plain first in even rounds and last in odd ones.
      for (const design of candidates) {
        const pair: Design[] = round % 2 === 0 ? ['plain', design] : [design, 'plain'];
        const measured = new Map<Design, RunMeasurement>();
        for (const each of pair) {
          process.stderr.write(`[third-party writers] ${categories} categories, round ${round + 1}, ${each} … `);
          const value = await runOnce(settings, each, categories);
          process.stderr.write(
            `${formatNumber(value.tps)} tps; CPU ms per 1,000 writes: database ${value.databaseCpu.toFixed(0)}, ` +
              `design ${value.designCpu.toFixed(0)}\n`,
          );
          measured.set(each, value);
          tps.get(each)!.push(value.tps);
          databaseCpu.get(each)!.push(value.databaseCpu);
          if (each !== 'plain') designCpu.get(each)!.push(value.designCpu);
        }
        ratios.get(design)!.push(measured.get(design)!.tps / measured.get('plain')!.tps);
      }
    }
    for (const design of candidates) {
      const values = ratios.get(design)!;
      rows.push([
        `${settings.clients} clients × ${categories} categor${categories === 1 ? 'y' : 'ies'}`,
        design,
        formatNumber(median(tps.get('plain')!)),
        formatNumber(median(tps.get(design)!)),
        `${median(values).toFixed(2)}×`,
        `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}×`,
        `${median(databaseCpu.get('plain')!).toFixed(0)} → ${median(databaseCpu.get(design)!).toFixed(0)} ms`,
        `${median(designCpu.get(design)!).toFixed(0)} ms`,
      ]);
    }
  }
  lines.push(
    '',
    `== third-party writers: pgbench write_message, ${settings.clients} clients, ${settings.seconds} s per run, ${settings.rounds} alternating rounds ==`,
    table(
      [
        'writers',
        'design',
        'plain tps',
        'design tps',
        'ratio (median)',
        'range',
        'database CPU (plain → design)',
        'design process CPU',
      ],
      rows,
    ),
    '',
    'ratio: design tps ÷ plain tps of the same round. CPU columns, per 1,000 writes (medians): every PostgreSQL',
    "backend of the run's database (the writers', the design's connections, autovacuum), and the design's own",
    "process — where a design's cost goes. Per-second costs (the watcher's polls) weigh more per write when a",
    'loaded machine writes less.',
    '',
    'designs:',
    ...settings.designs.map((design) => `  ${design}: ${DESCRIPTIONS[design]}`),
    ...notes,
  );
  if (settings.latencyWrites > 0) {
    const describe = (values: number[]) =>
      `p50 ${percentile(values, 50).toFixed(1)} ms, p99 ${percentile(values, 99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms`;
    for (const underLoad of [false, true]) {
      const when = underLoad
        ? `under load: ${settings.clients} pgbench writers on 8 consumed categories`
        : 'idle system';
      process.stderr.write(`[third-party writers] latency (${when}), ${settings.latencyWrites} writes … `);
      const { latencies, writes, afterReturn } = await measureLatency(settings, underLoad);
      process.stderr.write('done\n');
      lines.push(
        '',
        `latency third-party write_message → handler (watcher, ${when}): ${latencies.length}/${settings.latencyWrites} handled, ${describe(latencies)}`,
        `  the write_message round trip alone (commit included): ${describe(writes)}`,
        `  from the write's return to the handler (0 when the handler ran first): ${describe(afterReturn)}`,
      );
    }
  }
  return lines.join('\n');
}

export function defaultThirdPartySettings(postgresUrl: string, quick: boolean): ThirdPartySettings {
  return {
    postgresUrl,
    rounds: quick ? 1 : 3,
    seconds: quick ? 3 : 10,
    clients: 8,
    categoryCounts: [8, 1],
    designs: ['plain', 'row-trigger', 'statement-trigger', 'notify-after-commit', 'watcher-alone', 'watcher'],
    latencyWrites: quick ? 50 : 200,
  };
}

const HELP = `Usage: npx tsx packages/message-store/bench/third-party-writers.ts [options]

Third-party writers (pgbench calling write_message, 8 clients) on a database with a wake-up design installed
and running, each run paired with plain Message DB on a fresh database of the same server (alternating which
goes first); prints design tps ÷ plain tps, then the latency of a third party's write to the handler.

Options:
  --help                    Show this help.
  --rounds N                Alternating rounds per design (default 3).
  --seconds N               Seconds per pgbench run (default 10).
  --designs a,b             Designs to measure (plain is always the baseline): ${Object.keys(DESCRIPTIONS).join(', ')}.
  --categories 8,1          Category counts the writers spread over (default 8,1).
  --latency N               Third-party writes for the latency measurement (default 200; 0 skips it).
  --system                  Only the whole Video Tutorials system (npm start) beside the writers.
  --system-breakdown        The system; without the admin message index; without the admin streams
                            aggregator; without the four admin aggregators.
  --watch-intervals B,I     The watcher's busy and idle intervals in ms (default 20,5).
  --coalesce MS             The shortest time between two wake-ups of one category (default 20).
  --postgres URL            Server for the fresh databases (default $BENCH_POSTGRES_URL or the machine's).`;

async function main() {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      seconds: { type: 'string' },
      designs: { type: 'string' },
      categories: { type: 'string' },
      latency: { type: 'string' },
      system: { type: 'boolean' },
      'system-breakdown': { type: 'boolean' },
      'watch-intervals': { type: 'string' },
      coalesce: { type: 'string' },
      postgres: { type: 'string' },
    },
    strict: true,
  });
  const settings = defaultThirdPartySettings(
    values.postgres ?? process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    false,
  );
  if (values.rounds) settings.rounds = Number(values.rounds);
  if (values.seconds) settings.seconds = Number(values.seconds);
  if (values.categories) settings.categoryCounts = values.categories.split(',').map(Number);
  if (values.latency) settings.latencyWrites = Number(values.latency);
  if (values.designs) settings.designs = ['plain', ...(values.designs.split(',') as Design[])];
  if (values['watch-intervals']) {
    const [busyIntervalMs, idleIntervalMs] = values['watch-intervals'].split(',').map(Number);
    settings.watcher = { ...settings.watcher, busyIntervalMs: busyIntervalMs!, idleIntervalMs: idleIntervalMs! };
  }
  if (values.coalesce) settings.watcher = { ...settings.watcher, coalesceMs: Number(values.coalesce) };
  if (values.system) settings.designs = ['plain', 'system'];
  if (values['system-breakdown'])
    settings.designs = [
      'plain',
      'system',
      'system-without-message-index',
      'system-without-admin-streams',
      'system-without-admin',
    ];
  for (const design of settings.designs)
    if (!(design in DESCRIPTIONS)) throw new Error(`unknown design ${design}: ${Object.keys(DESCRIPTIONS).join(', ')}`);
  console.log(await runThirdPartyWriters(settings));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
