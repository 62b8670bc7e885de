/**
 * Load benchmark of the running web server, against a baseline measured in
 * the same run (the machine is shared and noisy): the whole system — web and
 * workers — in this process, on a temporary embedded PGlite (or a fresh
 * PostgreSQL database), loaded with autocannon.
 *
 *   npm run bench:web -- --quick
 *   npx tsx packages/video-tutorials/bench/web.ts --postgres postgres://postgres@127.0.0.1:5432/postgres
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Queryable } from 'message-db-toolkit';
import { createFreshPostgresDatabase } from 'message-db-toolkit/controls';
import autocannon from 'autocannon';
import pino from 'pino';
import { describePostgresUrl, readConfig } from '../src/config.js';
import { VideoNamed, VideoPublished, videoPublishingStreamName } from '../src/contracts/video-publishing.js';
import { hashPassword } from '../src/passwords.js';
import { startSystem, type PgliteThread, type System } from '../src/system.js';

/** Published videos seeded for the search and watch pages. */
const CATALOGUE_VIDEOS = 10_000;

const HELP = `Usage: npm run bench:web -- [options]
       npx tsx packages/video-tutorials/bench/web.ts [options]

Load benchmark of the Video Tutorials web server. Starts the whole system
(web + every component and aggregator) in this process with NODE_ENV=test, on
an embedded PGlite in a temporary DATA_DIRECTORY (or on a fresh PostgreSQL
database), listening on an ephemeral port of 127.0.0.1, and loads it with
autocannon:

  baseline   GET /trivial   a tiny HTML string, on the system's own Fastify
                            instance (added before it listens), so it passes
                            the same plugins and hooks as every page
  home       GET /          the home page (reads View Data), anonymous
  signed-in  GET /          the home page with the session cookie of a user
                            registered and logged in during the preflight
  register   POST /register a valid, distinct registration per request (new
                            user id and e-mail; one CSRF cookie/token pair
                            from GET /register, reused); hashes the password
                            with argon2id, so it is CPU-bound; 303 = success
  search     GET /search?q=projections
                            full-text search over ${CATALOGUE_VIDEOS.toLocaleString('en-US')} published
                            videos (about a tenth match; ranked, 10 a page,
                            with snippets)
  watch      GET /videos/{id}
                            the watch page of one of them (its facts, the
                            videos up next)

The catalogue's videos (${CATALOGUE_VIDEOS.toLocaleString('en-US')}) are seeded straight into View Data
(video_catalogue, one INSERT … SELECT generate_series), not through events:
seeding takes seconds, and the pages read only View Data.

Runs: a short warm-up of each target, then rounds of baseline, home, signed-in,
register, search, watch and, as a reference for register, argon2id hashing alone
(no HTTP; run only with the register target).
After each register run it counts the Register commands written, waits for the
workers to catch up and counts the Registered events. Reports medians over the
rounds and each target's requests/s relative to the baseline of its round.

Options:
  --connections N   concurrent connections (default 50; 10 with --quick)
  --duration S      seconds per run (default 10; 3 with --quick)
  --rounds N        rounds of the targets (default 2)
  --videos N        publish N videos first (as the book's video-publishing
                    records them: VideoPublished, VideoNamed), so the home
                    page lists them (default 0: the empty catalogue, with its
                    sample tutorial and form)
  --targets LIST    which targets, comma-separated (default
                    baseline,home,signed-in,register); baseline always runs
  --warmup S        seconds of warm-up per target, not reported (default 2; 1 with --quick; 0 = none)
  --quick           a smoke run: 10 connections, 3 s
  --same-thread     generate the load on the server's own thread (default: an
                    autocannon worker thread, so the load generator does not
                    take event-loop time from the server)
  --pglite WHERE    where the embedded PGlite runs: thread (default, as the
                    system runs it: a worker thread of its own) or in-process
                    (the server's main thread, for comparison)
  --postgres URL    run on PostgreSQL: create a fresh database on the server at
                    URL (its role must be allowed to create databases), point
                    MESSAGE_STORE_CONNECTION_STRING and DATABASE_URL at it, drop
                    it at the end
  -h, --help        show this help

Progress goes to stderr, the report to stdout. Exits 0 when it ran and the
registration counts add up, 1 when registrations went missing or it failed.
`;

interface Settings {
  connections: number;
  durationSeconds: number;
  rounds: number;
  warmupSeconds: number;
  sameThread: boolean;
  pgliteThread: PgliteThread;
  postgresUrl: string | null;
  targets: TargetId[];
  videos: number;
}

const TARGET_IDS = ['baseline', 'home', 'signed-in', 'register', 'search', 'watch'] as const;
type TargetId = (typeof TARGET_IDS)[number];

interface Target {
  id: TargetId;
  label: string;
  request: autocannon.Request;
}

interface Run {
  requestsPerSecond: number;
  latencyP50: number;
  latencyP99: number;
  /** Responses received. */
  responses: number;
  /** Requests sent that got no response (in flight when the run ended, or timed out). */
  unanswered: number;
  /** 2xx and 3xx responses. */
  succeeded: number;
  /** Responses other than 2xx/3xx, by status code. */
  failedByStatus: Record<string, number>;
  connectionErrors: number;
  timeouts: number;
  process: ProcessLoad;
}

/** How busy this process was during a run. */
interface ProcessLoad {
  /** CPU time of this process (all threads) over wall time; 100 = one core. */
  cpuPercent: number;
  /** CPU time of this process (all threads) during the run, in ms. */
  cpuMs: number;
  /** The main thread's event-loop delay: how long a ready callback waited. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

interface RegistrationCounts {
  commands: number;
  registered: number;
  rejected: number;
  emailsSent: number;
}

interface RegisterCheck {
  label: string;
  succeeded: number;
  unanswered: number;
  commandsAfterRun: number;
  catchUpMs: number;
  after: RegistrationCounts;
}

const BASELINE_BODY = '<p>ok</p>';
const SETUP_REGISTER_REQUEST = fileURLToPath(new URL('./register-request.cts', import.meta.url));
const CATCH_UP_TIMEOUT_MS = 300_000;

// ---------------------------------------------------------------------------
// Settings

class UsageError extends Error {}

function parseSettings(argv: string[]): Settings | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      quick: { type: 'boolean' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      'same-thread': { type: 'boolean' },
      pglite: { type: 'string' },
      postgres: { type: 'string' },
      targets: { type: 'string' },
      videos: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  const number = (flag: string, value: string | undefined, minimum: number) => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < minimum)
      throw new UsageError(`--${flag} needs a whole number of at least ${minimum}, not "${value}"`);
    return parsed;
  };
  const quick = values.quick ?? false;
  const postgresUrl = values.postgres ?? null;
  if (postgresUrl !== null && !/^postgres(ql)?:\/\//.test(postgresUrl))
    throw new UsageError('--postgres needs a postgres:// URL');
  const pgliteThread = values.pglite ?? 'thread';
  if (pgliteThread !== 'thread' && pgliteThread !== 'in-process')
    throw new UsageError(`--pglite takes thread or in-process, not "${pgliteThread}"`);
  const targets = (values.targets ?? TARGET_IDS.join(',')).split(',').map((target) => target.trim());
  for (const target of targets)
    if (!(TARGET_IDS as readonly string[]).includes(target))
      throw new UsageError(`--targets takes ${TARGET_IDS.join(', ')}, not "${target}"`);
  return {
    targets: TARGET_IDS.filter((id) => id === 'baseline' || targets.includes(id)),
    videos: number('videos', values.videos, 0) ?? 0,
    connections: number('connections', values.connections, 1) ?? (quick ? 10 : 50),
    durationSeconds: number('duration', values.duration, 1) ?? (quick ? 3 : 10),
    rounds: number('rounds', values.rounds, 1) ?? 2,
    warmupSeconds: number('warmup', values.warmup, 0) ?? (quick ? 1 : 2),
    sameThread: values['same-thread'] ?? false,
    pgliteThread,
    postgresUrl,
  };
}

// ---------------------------------------------------------------------------
// Small helpers

const started = performance.now();
function progress(message: string) {
  process.stderr.write(`[bench:web ${((performance.now() - started) / 1000).toFixed(1)} s] ${message}\n`);
}

function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms >= 10_000) return `${formatNumber(ms / 1000, 1)} s`;
  if (ms >= 100) return `${formatNumber(ms)} ms`;
  return `${formatNumber(ms, 1)} ms`;
}

/** autocannon records latencies in whole milliseconds: 0 means under 1 ms. */
function formatLatency(ms: number): string {
  if (Number.isFinite(ms) && ms < 1) return '<1 ms';
  if (Number.isFinite(ms) && ms < 10_000) return `${formatNumber(ms, ms < 100 && !Number.isInteger(ms) ? 1 : 0)} ms`;
  return formatMs(ms);
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

function formatRate(perSecond: number): string {
  return formatNumber(perSecond, perSecond < 100 ? 1 : 0);
}

function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  return `${formatNumber(ratio, ratio >= 10 ? 1 : ratio >= 0.1 ? 2 : 4)}×`;
}

function table(header: string[], rows: string[][], rightAligned: number[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        rightAligned.includes(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

function errorsOf(run: Pick<Run, 'failedByStatus' | 'connectionErrors'>) {
  return Object.values(run.failedByStatus).reduce((sum, count) => sum + count, 0) + run.connectionErrors;
}

function describeErrors(runs: Run[]): string {
  const byStatus: Record<string, number> = {};
  for (const run of runs)
    for (const [status, count] of Object.entries(run.failedByStatus))
      byStatus[status] = (byStatus[status] ?? 0) + count;
  const connectionErrors = runs.reduce((sum, run) => sum + run.connectionErrors, 0);
  const timeouts = runs.reduce((sum, run) => sum + run.timeouts, 0);
  const parts = Object.entries(byStatus).map(([status, count]) => `${status}×${count}`);
  if (timeouts > 0) parts.push(`${timeouts} timeouts`);
  if (connectionErrors > timeouts) parts.push(`${connectionErrors - timeouts} other connection errors`);
  const total = Object.values(byStatus).reduce((sum, count) => sum + count, 0) + connectionErrors;
  return parts.length === 0 ? '0' : `${total} (${parts.join(', ')})`;
}

/** Starts observing this process; the function returned stops and reports. */
function observeProcess(): () => ProcessLoad {
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const cpu = process.cpuUsage();
  const from = performance.now();
  return () => {
    loopDelay.disable();
    const used = process.cpuUsage(cpu);
    const wallMs = performance.now() - from;
    // No sample at all: the loop never turned during the run, it was blocked throughout.
    const stalled = loopDelay.count === 0;
    return {
      cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100,
      cpuMs: (used.user + used.system) / 1000,
      loopDelayP99Ms: stalled ? wallMs : loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: stalled ? wallMs : loopDelay.max / 1e6,
    };
  };
}

function describeProcess({ cpuPercent, loopDelayP99Ms, loopDelayMaxMs }: ProcessLoad): string {
  return `CPU ${formatNumber(cpuPercent)}%, event-loop delay p99 ${formatLatency(loopDelayP99Ms)} max ${formatLatency(loopDelayMaxMs)}`;
}

/**
 * CPU time this process spent per response: on a shared machine steadier than requests/s, which follow the share
 * of the cores the process gets. It leaves out the database server's time (PostgreSQL runs in processes of its own).
 */
const cpuPerResponseUs = (run: Run) => (run.process.cpuMs * 1000) / Math.max(1, run.responses);
const formatCpuPerResponse = (run: Run) => `${formatNumber(cpuPerResponseUs(run))} µs`;

class Interrupted extends Error {}

// ---------------------------------------------------------------------------
// The catalogue for the search and watch pages

const SEARCH_PATH = '/search?q=projections';
const TOPICS = [
  'event sourcing',
  'message stores',
  'projections',
  'consumer groups',
  'idempotent handlers',
  'aggregators',
  'view data',
  'components',
  'commands and events',
  'optimistic concurrency',
];

/**
 * `count` published videos straight into View Data, named and described after one topic each (a tenth on
 * projections) with a transcript of about 200 words, published a minute apart; the id of one in the middle.
 */
async function seedCatalogue(viewData: Queryable, count: number): Promise<string> {
  const rows = await viewData.query<{ id: string }>(
    `WITH topics AS (SELECT $2::text[] AS list)
     INSERT INTO video_catalogue (id, owner_id, name, description, transcoded_uri, poster_uri, transcription,
                                  duration_seconds, published_at, publishing_position)
     SELECT gen_random_uuid(), gen_random_uuid(),
            'Tutorial ' || n || ': ' || list[1 + n % 10],
            'How ' || list[1 + n % 10] || ' work, step by step, with examples from the book.',
            'storage:transcoded/bench-' || n || '.mp4', NULL,
            repeat('in this part we look at ' || list[1 + (n * 7) % 10] || ' and what they mean for the system ', 12),
            60 + n % 600, now() - n * interval '1 minute', 0
       FROM generate_series(1, $1::int) AS n, topics
     RETURNING id`,
    [count, TOPICS],
  );
  return rows[Math.floor(rows.length / 2)]!.id;
}

// ---------------------------------------------------------------------------
// The benchmark

async function main(): Promise<number> {
  let settings: Settings | 'help';
  try {
    settings = parseSettings(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\nSee --help.\n`);
    return 2;
  }
  if (settings === 'help') {
    process.stdout.write(HELP);
    return 0;
  }

  let interrupted = false;
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    progress('interrupted: finishing the current step, then cleaning up (Ctrl-C again to quit at once)');
  });
  const checkInterrupted = () => {
    if (interrupted) throw new Interrupted('interrupted');
  };

  const directory = await mkdtemp(path.join(os.tmpdir(), 'video-tutorials-bench-web-'));
  let database: Awaited<ReturnType<typeof createFreshPostgresDatabase>> | null = null;
  let system: System | null = null;
  // What the system logs (warn and above) goes to stderr, counted for the report.
  const logged: string[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write(line: string) {
        logged.push(line.trim());
        process.stderr.write(line);
      },
    },
  );

  try {
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: directory };
    let storage =
      `PGlite (embedded, ${settings.pgliteThread === 'thread' ? 'on a worker thread' : "on the server's main thread"}) ` +
      `in a temporary DATA_DIRECTORY (${directory})`;
    if (settings.postgresUrl) {
      database = await createFreshPostgresDatabase(settings.postgresUrl, 'video_tutorials_bench');
      env.MESSAGE_STORE_CONNECTION_STRING = database.connectionString;
      env.DATABASE_URL = database.connectionString;
      storage = `PostgreSQL at ${describePostgresUrl(database.connectionString)} (a fresh database, dropped at the end)`;
      progress(`created database ${database.name}`);
    }

    progress('starting the system (web + workers)');
    system = await startSystem(
      readConfig(env),
      { web: true, workers: true },
      { logger, pgliteThread: settings.pgliteThread },
    );
    const running = system;
    const web = running.web;
    if (!web) throw new Error('the system started without its web server');
    // The baseline: a route on the same Fastify instance, added before it is ready.
    web.get('/trivial', async (_request, reply) => {
      reply.type('text/html; charset=utf-8');
      return BASELINE_BODY;
    });
    await web.listen({ port: 0, host: '127.0.0.1' });
    const address = web.server.address();
    if (!address || typeof address === 'string') throw new Error('the web server has no TCP address');
    const base = `http://127.0.0.1:${address.port}`;
    progress(`listening at ${base}; pieces: ${running.pieces.map((piece) => piece.name).join(', ')}`);

    const lastPosition = async () => {
      const [row] = await running.messageStoreDb.query<{ position: string | null }>(
        'SELECT max(global_position)::text AS position FROM message_store.messages',
      );
      return row?.position ?? null;
    };

    // Caught up = every subscription caught up and nothing new written meanwhile
    // (identity's Registered events are themselves the input of send-email and the aggregators).
    const catchUp = async (): Promise<number> => {
      const from = performance.now();
      for (;;) {
        const before = await lastPosition();
        await Promise.all(
          running.pieces
            .flatMap((piece) => piece.subscriptions)
            .map((subscription) => subscription.waitUntilCaughtUp({ timeoutMs: CATCH_UP_TIMEOUT_MS })),
        );
        if ((await lastPosition()) === before) return performance.now() - from;
      }
    };

    // --- Preflight: every target answers as expected before anything is measured.
    const trivial = await fetch(`${base}/trivial`);
    if (trivial.status !== 200 || (await trivial.text()) !== BASELINE_BODY)
      throw new Error(`GET /trivial answered ${trivial.status}`);
    const home = await fetch(`${base}/`);
    await home.arrayBuffer();
    if (home.status !== 200) throw new Error(`GET / answered ${home.status}`);
    const form = await fetch(`${base}/register`);
    const formHtml = await form.text();
    const csrfToken = /name="_csrf" value="([^"]+)"/.exec(formHtml)?.[1];
    const csrfCookie = form.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';')[0]!)
      .find((cookie) => cookie.startsWith('_csrf='));
    if (form.status !== 200 || !csrfToken || !csrfCookie)
      throw new Error(`GET /register answered ${form.status} without a CSRF token and cookie`);
    const registerHeaders = { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' };
    // Two, to check that the one token/cookie pair is reusable; the first one signs in for the signed-in target.
    const password = 'correct horse battery staple';
    const emails = [`bench-preflight-${randomUUID()}@example.com`, `bench-preflight-${randomUUID()}@example.com`];
    let preflightRegistrations = 0;
    for (const email of emails) {
      const response = await fetch(`${base}/register`, {
        method: 'POST',
        redirect: 'manual',
        headers: registerHeaders,
        body: new URLSearchParams({ _csrf: csrfToken, userId: randomUUID(), email, password }),
      });
      await response.arrayBuffer();
      if (response.status !== 303) throw new Error(`preflight POST /register answered ${response.status}, not 303`);
      preflightRegistrations++;
    }
    for (let video = 1; video <= settings.videos; video++) {
      const videoId = randomUUID();
      const stream = videoPublishingStreamName(videoId);
      await running.store.write(
        stream,
        VideoPublished.create({
          ownerId: randomUUID(),
          sourceUri: `storage:uploads/${videoId}.mp4`,
          transcodedUri: `storage:transcoded/${videoId}.mp4`,
          videoId,
        }),
      );
      await running.store.write(stream, VideoNamed.create({ name: `Benchmark tutorial ${video}` }));
    }
    // The user can log in once identity and the credentials aggregator have caught up (the catalogue too).
    await catchUp();
    const logIn = await fetch(`${base}/auth/log-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: registerHeaders,
      body: new URLSearchParams({ _csrf: csrfToken, email: emails[0]!, password }),
    });
    await logIn.arrayBuffer();
    const sessionCookie = logIn.headers
      .getSetCookie()
      .map((cookie) => cookie.split(';')[0]!)
      .find((cookie) => cookie.startsWith('session='));
    if (logIn.status !== 303 || !sessionCookie)
      throw new Error(`preflight POST /auth/log-in answered ${logIn.status} without a session cookie`);
    // As a browser sends them: the session and the CSRF cookie the site set before.
    const signedInHeaders = { cookie: `${sessionCookie}; ${csrfCookie}` };
    const signedIn = await fetch(`${base}/`, { headers: signedInHeaders });
    if (signedIn.status !== 200 || !(await signedIn.text()).includes(emails[0]!))
      throw new Error(`GET / with the session cookie answered ${signedIn.status}, or not signed in`);
    if (
      settings.videos > 0 &&
      !(await (await fetch(`${base}/`)).text()).includes(`Benchmark tutorial ${settings.videos}`)
    )
      throw new Error('GET / does not list the videos published');
    progress(
      'preflight: GET /trivial 200, GET / 200, POST /register 303 (twice, same CSRF pair), log-in 303, GET / signed in 200',
    );

    const seedingStarted = performance.now();
    const watchedVideoId = await seedCatalogue(running.viewData, CATALOGUE_VIDEOS);
    progress(
      `seeded ${formatNumber(CATALOGUE_VIDEOS)} published videos into View Data in ${formatMs(performance.now() - seedingStarted)}`,
    );
    for (const path of [SEARCH_PATH, `/videos/${watchedVideoId}`]) {
      const response = await fetch(`${base}${path}`);
      const body = await response.text();
      if (response.status !== 200 || !body.includes('video-card'))
        throw new Error(
          `GET ${path} answered ${response.status}${response.status === 200 ? ' without video cards' : ''}`,
        );
    }
    progress(`preflight: GET ${SEARCH_PATH} 200, GET /videos/{id} 200, both with video cards`);

    const allTargets: Target[] = [
      { id: 'baseline', label: 'GET /trivial (baseline)', request: { method: 'GET', path: '/trivial' } },
      { id: 'home', label: 'GET / (home page)', request: { method: 'GET', path: '/' } },
      {
        id: 'signed-in',
        label: 'GET / (home page, signed in)',
        request: { method: 'GET', path: '/', headers: signedInHeaders },
      },
      {
        id: 'register',
        label: 'POST /register',
        request: {
          method: 'POST',
          path: '/register',
          headers: registerHeaders,
          setupRequest: SETUP_REGISTER_REQUEST,
        },
      },
      {
        id: 'search',
        label: `GET ${SEARCH_PATH} (${formatNumber(CATALOGUE_VIDEOS)} videos)`,
        request: { method: 'GET', path: SEARCH_PATH },
      },
      {
        id: 'watch',
        label: 'GET /videos/{id} (watch page)',
        request: { method: 'GET', path: `/videos/${watchedVideoId}` },
      },
    ];
    const targets = allTargets.filter((target) => settings.targets.includes(target.id));

    const load = async (target: Target, seconds: number): Promise<Run> => {
      const observed = observeProcess();
      const result = await autocannon({
        url: base,
        connections: settings.connections,
        duration: seconds,
        ...(settings.sameThread ? {} : { workers: 1 }),
        requests: [target.request],
        initialContext: { csrfToken },
        title: target.id,
      });
      const failedByStatus: Record<string, number> = {};
      let succeeded = 0;
      for (const [status, { count }] of Object.entries(result.statusCodeStats)) {
        const code = Number(status);
        if (code >= 200 && code < 400) succeeded += count;
        else failedByStatus[status] = count;
      }
      return {
        requestsPerSecond: result.requests.average,
        latencyP50: result.latency.p50,
        latencyP99: result.latency.p99,
        responses: result.requests.total,
        unanswered: Math.max(0, result.requests.sent - result.requests.total),
        succeeded,
        failedByStatus,
        connectionErrors: result.errors,
        timeouts: result.timeouts,
        process: observed(),
      };
    };

    const countRegistrations = async (): Promise<RegistrationCounts> => {
      const rows = await running.messageStoreDb.query<{ type: string; count: number }>(
        `SELECT type, count(*)::int AS count FROM message_store.messages
          WHERE (stream_name LIKE 'identity:command-%' AND type = 'Register')
             OR (stream_name LIKE 'identity-%' AND type IN ('Registered', 'RegistrationRejected', 'RegistrationEmailSent'))
          GROUP BY type`,
      );
      const count = (type: string) => Number(rows.find((row) => row.type === type)?.count ?? 0);
      return {
        commands: count('Register'),
        registered: count('Registered'),
        rejected: count('RegistrationRejected'),
        emailsSent: count('RegistrationEmailSent'),
      };
    };

    const registerChecks: RegisterCheck[] = [];
    const afterRegisterRun = async (label: string, run: Run) => {
      const commandsAfterRun = (await countRegistrations()).commands;
      progress(`${label}: ${formatNumber(commandsAfterRun)} Register commands in the store; waiting for the workers`);
      const catchUpMs = await catchUp();
      const after = await countRegistrations();
      registerChecks.push({
        label,
        succeeded: run.succeeded,
        unanswered: run.unanswered,
        commandsAfterRun,
        catchUpMs,
        after,
      });
      progress(
        `${label}: workers caught up in ${formatMs(catchUpMs)}: ${formatNumber(after.registered)} Registered, ` +
          `${formatNumber(after.rejected)} RegistrationRejected, ${formatNumber(after.emailsSent)} RegistrationEmailSent`,
      );
    };

    const describeRun = (run: Run) =>
      `${formatRate(run.requestsPerSecond)} req/s, p50 ${formatLatency(run.latencyP50)}, p99 ${formatLatency(run.latencyP99)}, ` +
      `${formatNumber(run.responses)} responses, errors ${describeErrors([run])}; ${describeProcess(run.process)}`;

    // What POST /register cannot go below: argon2id alone, in this process, as many hashes in flight as connections.
    const hashLoad = async (seconds: number): Promise<Run> => {
      const observed = observeProcess();
      const latencies: number[] = [];
      const from = performance.now();
      const until = from + seconds * 1000;
      await Promise.all(
        Array.from({ length: settings.connections }, async () => {
          while (performance.now() < until) {
            const start = performance.now();
            await hashPassword('correct horse battery staple');
            latencies.push(performance.now() - start);
          }
        }),
      );
      return {
        requestsPerSecond: latencies.length / ((performance.now() - from) / 1000),
        latencyP50: percentile(latencies, 50),
        latencyP99: percentile(latencies, 99),
        responses: latencies.length,
        unanswered: 0,
        succeeded: latencies.length,
        failedByStatus: {},
        connectionErrors: 0,
        timeouts: 0,
        process: observed(),
      };
    };

    // --- Warm-up (not reported).
    const warmupRuns: Run[] = [];
    if (settings.warmupSeconds > 0)
      for (const target of targets) {
        progress(`warm-up ${target.label}: ${settings.warmupSeconds} s`);
        const run = await load(target, settings.warmupSeconds);
        warmupRuns.push(run);
        progress(`warm-up ${target.label}: ${describeRun(run)}`);
        if (target.id === 'register') await afterRegisterRun('warm-up register', run);
        checkInterrupted();
      }

    // --- Measured rounds: baseline, home, register, baseline, home, register, …
    const loadAverageBefore = os.loadavg();
    const runs: Record<TargetId | 'argon2', Run[]> = {
      baseline: [],
      home: [],
      'signed-in': [],
      register: [],
      search: [],
      watch: [],
      argon2: [],
    };
    const withRegister = settings.targets.includes('register');
    for (let round = 1; round <= settings.rounds; round++) {
      for (const target of targets) {
        const label = `round ${round}/${settings.rounds} ${target.id}`;
        progress(`${label}: ${settings.connections} connections, ${settings.durationSeconds} s`);
        const run = await load(target, settings.durationSeconds);
        runs[target.id].push(run);
        progress(`${label}: ${describeRun(run)}`);
        if (target.id === 'register') await afterRegisterRun(label, run);
        checkInterrupted();
      }
      if (!withRegister) continue;
      const label = `round ${round}/${settings.rounds} argon2id alone`;
      progress(`${label}: ${settings.connections} hashes in flight, ${settings.durationSeconds} s`);
      const run = await hashLoad(settings.durationSeconds);
      runs.argon2.push(run);
      progress(
        `${label}: ${formatRate(run.requestsPerSecond)} hashes/s, p50 ${formatLatency(run.latencyP50)}; ${describeProcess(run.process)}`,
      );
      checkInterrupted();
    }
    const loadAverageAfter = os.loadavg();

    // --- Report.
    const ratios = (id: TargetId | 'argon2', to: TargetId | 'argon2' = 'baseline') =>
      runs[id].map((run, round) => run.requestsPerSecond / runs[to][round]!.requestsPerSecond);
    const rowsOf: { id: TargetId | 'argon2'; label: string }[] = [
      ...targets,
      ...(withRegister ? [{ id: 'argon2' as const, label: 'argon2id hash alone (reference)' }] : []),
    ];
    const rows = rowsOf.map((target) => {
      const measured = runs[target.id];
      return [
        target.label,
        formatRate(median(measured.map((run) => run.requestsPerSecond))),
        formatLatency(median(measured.map((run) => run.latencyP50))),
        formatLatency(median(measured.map((run) => run.latencyP99))),
        formatNumber(measured.reduce((sum, run) => sum + run.responses, 0)),
        describeErrors(measured),
        formatRatio(median(ratios(target.id))),
        `${formatRatio(Math.min(...ratios(target.id)))}–${formatRatio(Math.max(...ratios(target.id)))}`,
        `${formatNumber(median(measured.map(cpuPerResponseUs)))} µs`,
      ];
    });

    const cpus = os.cpus();
    const out: string[] = [];
    out.push('Video Tutorials web benchmark: the whole system (web + workers) in this process, NODE_ENV=test');
    out.push(`storage:   ${storage}`);
    out.push(
      `catalogue: ${settings.videos === 0 ? 'empty (the home page shows the sample tutorial and its form)' : `${settings.videos} published videos (--videos)`}`,
    );
    out.push(
      `machine:   ${cpus.length} CPU(s) (${cpus[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, ` +
        `load average ${loadAverageBefore.map((value) => value.toFixed(2)).join(' ')} before the rounds, ` +
        `${loadAverageAfter.map((value) => value.toFixed(2)).join(' ')} after`,
    );
    out.push(
      `load:      autocannon, ${settings.connections} connections × ${settings.durationSeconds} s per run, ` +
        `${settings.rounds} rounds of ${[...targets.map((target) => target.id), ...(withRegister ? ['argon2id alone'] : [])].join(', ')}` +
        (settings.warmupSeconds > 0 ? `, after a ${settings.warmupSeconds} s warm-up of each HTTP target` : '') +
        `; the load generator runs ${settings.sameThread ? "on the server's own thread (--same-thread)" : 'in an autocannon worker thread of this process'}`,
    );
    out.push(
      `baseline:  GET /trivial returns "${BASELINE_BODY}" as text/html; it is a route added to the system's own Fastify ` +
        'instance before it listens, so it passes the same plugins and hooks as every page ' +
        '(helmet headers, cookies, session, trace id) but reads nothing and renders nothing',
    );
    out.push('');
    out.push(
      'Medians over the rounds; "responses" and "errors" are totals over the rounds; errors = responses other than ' +
        '2xx/3xx plus connection errors and timeouts (303 is success for POST /register); "vs baseline" = median of ' +
        'each round\'s requests/s over that round\'s baseline; "range" = the lowest and highest of those ratios; ' +
        '"CPU/response" = median of this process\'s CPU time per response (all its threads, the load generator\'s ' +
        "included; not the database server's), steadier than requests/s on a shared machine.",
    );
    out.push('');
    out.push(
      table(
        ['target', 'requests/s', 'p50', 'p99', 'responses', 'errors', 'vs baseline', 'range', 'CPU/response'],
        rows,
        [1, 2, 3, 4, 6, 7, 8],
      ),
    );
    out.push('');
    out.push(
      'Each run (in the order run within a round); "CPU" is this process (server, workers, ' +
        (settings.postgresUrl ? '' : 'PGlite, ') +
        'autocannon thread) over wall time, 100% = one core; "loop delay" is the main thread\'s event-loop delay:',
    );
    out.push(
      table(
        ['round', 'target', 'requests/s', 'p50', 'p99', 'errors', 'CPU', 'CPU/response', 'loop delay p99', 'max'],
        Array.from({ length: settings.rounds }, (_, round) =>
          rowsOf.map(({ id }) => {
            const run = runs[id][round]!;
            return [
              String(round + 1),
              id,
              formatRate(run.requestsPerSecond),
              formatLatency(run.latencyP50),
              formatLatency(run.latencyP99),
              describeErrors([run]),
              `${formatNumber(run.process.cpuPercent)}%`,
              formatCpuPerResponse(run),
              formatLatency(run.process.loopDelayP99Ms),
              formatLatency(run.process.loopDelayMaxMs),
            ];
          }),
        ).flat(),
        [2, 3, 4, 6, 7, 8, 9],
      ),
    );

    // --- Registrations: nothing lost.
    const final = registerChecks.at(-1)?.after ?? (await countRegistrations());
    const succeededPosts = preflightRegistrations + registerChecks.reduce((sum, check) => sum + check.succeeded, 0);
    const unansweredPosts = registerChecks.reduce((sum, check) => sum + check.unanswered, 0);
    out.push('');
    if (withRegister)
      out.push(
        'Registrations (cumulative counts in the message store; each register run is followed by a wait for the workers):',
      );
    if (withRegister)
      out.push(
        table(
          [
            'after',
            '303s',
            'unanswered',
            'Register commands',
            'workers caught up in',
            'Registered',
            'Rejected',
            'e-mails sent',
          ],
          registerChecks.map((check) => [
            check.label,
            formatNumber(check.succeeded),
            formatNumber(check.unanswered),
            formatNumber(check.commandsAfterRun),
            formatMs(check.catchUpMs),
            formatNumber(check.after.registered),
            formatNumber(check.after.rejected),
            formatNumber(check.after.emailsSent),
          ]),
          [1, 2, 3, 4, 5, 6, 7],
        ),
      );
    const problems: string[] = [];
    if (final.commands < succeededPosts)
      problems.push(`${succeededPosts - final.commands} registrations answered 303 have no Register command`);
    if (final.commands > succeededPosts + unansweredPosts)
      problems.push(`${final.commands - succeededPosts - unansweredPosts} more Register commands than POSTs sent`);
    if (final.registered + final.rejected !== final.commands)
      problems.push(
        `${final.commands} Register commands but ${final.registered} Registered + ${final.rejected} RegistrationRejected`,
      );
    if (final.rejected > 0) problems.push(`${final.rejected} registrations rejected (every e-mail address was new)`);
    if (final.emailsSent !== final.registered)
      problems.push(`${final.registered} Registered but ${final.emailsSent} RegistrationEmailSent`);
    out.push(
      `Sanity: ${formatNumber(succeededPosts)} POST /register answered 303 (${preflightRegistrations} of them in the preflight), ` +
        `${formatNumber(unansweredPosts)} sent without an answer (in flight when a run ended, or timed out: the server may still have ` +
        `written them); ${formatNumber(final.commands)} Register commands, ${formatNumber(final.registered)} Registered, ` +
        `${formatNumber(final.emailsSent)} RegistrationEmailSent: ` +
        (problems.length === 0 ? 'OK, nothing lost.' : `PROBLEM: ${problems.join('; ')}.`),
    );
    if (withRegister)
      out.push(
        `Note: POST /register hashes the password with argon2id (@node-rs/argon2 defaults: 19 MiB, 2 passes, on libuv's ` +
          `thread pool of ${process.env.UV_THREADPOOL_SIZE ?? 4}), so it is CPU-bound. "argon2id hash alone" is ` +
          `hashPassword called in this process with ${settings.connections} hashes in flight, in each round after the ` +
          `register run and the workers' catch-up (p50/p99 are per hash): POST /register reached ` +
          `${formatRatio(median(ratios('register', 'argon2')))} of its rate (median of per-round ratios).`,
      );
    const warmupErrors = warmupRuns.reduce((sum, run) => sum + errorsOf(run), 0);
    if (warmupErrors > 0) out.push(`Warm-up runs had ${warmupErrors} errors: ${describeErrors(warmupRuns)}.`);
    out.push(
      logged.length === 0
        ? 'The system logged no warnings or errors.'
        : `The system logged ${logged.length} warning(s)/error(s) (on stderr); first: ${logged[0]!.slice(0, 300)}`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    progress('stopping the system');
    await system?.stop().catch((error: unknown) => progress(`stopping failed: ${String(error)}`));
    if (database) {
      await database.drop().catch((error: unknown) => progress(`dropping ${database?.name} failed: ${String(error)}`));
      progress(`dropped database ${database.name}`);
    }
    await rm(directory, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof Interrupted) {
      progress('interrupted: cleaned up, no report');
      process.exit(130);
    }
    process.stderr.write(
      `bench:web failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
