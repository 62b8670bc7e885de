/**
 * How long this system's first start on a message store written by the book's system takes to catch up:
 * writes a book history (src/takeover/book-history.ts) of the size asked for, then starts every component and
 * aggregator on it with empty View Data and times until each has caught up.
 *
 *   npm run takeover:measure -- --users 1000
 *   npm run takeover:measure -- --users 1000 --postgres postgres://postgres@127.0.0.1:5432/postgres
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { installMessageDb, type Database } from 'message-db-toolkit';
import { createPgliteDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { createFreshPostgresDatabase } from 'message-db-toolkit/controls';
import { readConfig } from '../src/config.js';
import { startSystem } from '../src/system.js';
import { writeBookHistory } from '../src/takeover/book-history.js';

const HELP = `Usage: npm run takeover:measure -- [options]
       npx tsx packages/video-tutorials/bench/takeover.ts [options]

Measures a takeover's catch-up. Writes a message store as the book's system
leaves it — registrations (bcrypt hashes), log-ins and failed log-ins,
viewings, published and named videos, e-mails, the book's subscriber position
records, two registrations in flight — through Message DB's write_message,
then starts this system's workers (every component and aggregator, no web
server) on it with empty View Data, and reports how long each consumer took
to catch up, and the whole.

Options:
  --users N          users who register (default 1000); each writes about 7
                     messages (registration, e-mail, log-ins)
  --viewings N       viewings (default 5 per user)
  --videos N         videos published and named (default 1 per 50 users, at least 4)
  --bcrypt-rounds N  bcrypt's cost for the history's hashes (default 4; the book
                     uses 10, which only makes writing the history slower)
  --postgres URL     run on PostgreSQL: a fresh message store database and a
                     fresh View Data database on the server at URL (its role
                     must be allowed to create databases), both dropped at the end
  --shared-view-data with --postgres: View Data in the message store's database
  -h, --help         show this help

Without --postgres it runs on an embedded PGlite in a temporary directory (View
Data in the same database). Progress goes to stderr, the report to stdout.
Exits 0 when the system caught up and its home page count and credentials
match the history, 1 otherwise.
`;

const { values } = parseArgs({
  options: {
    users: { type: 'string' },
    viewings: { type: 'string' },
    videos: { type: 'string' },
    'bcrypt-rounds': { type: 'string' },
    postgres: { type: 'string' },
    'shared-view-data': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function count(name: string, value: string | undefined, fallback: number, min = 0) {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    process.stderr.write(`--${name} must be a whole number of at least ${min}\n`);
    process.exit(2);
  }
  return parsed;
}

const users = count('users', values.users, 1000, 3);
const viewings = count('viewings', values.viewings, users * 5);
const videos = count('videos', values.videos, Math.max(4, Math.round(users / 50)));
const bcryptRounds = count('bcrypt-rounds', values['bcrypt-rounds'], 4, 4);
const postgresUrl = values.postgres ?? null;
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const log = (line: string) => process.stderr.write(`${line}\n`);

const directory = await mkdtemp(path.join(os.tmpdir(), 'video-tutorials-takeover-'));
const drops: (() => Promise<void>)[] = [];
let exitCode: number;
try {
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIRECTORY: directory,
    EMAIL_DIRECTORY: path.join(directory, 'emails'),
  };
  let bookStore: Database;
  if (postgresUrl) {
    const messageStore = await createFreshPostgresDatabase(postgresUrl, 'takeover_message_store');
    drops.push(messageStore.drop);
    env.MESSAGE_STORE_CONNECTION_STRING = messageStore.connectionString;
    if (values['shared-view-data']) env.DATABASE_URL = messageStore.connectionString;
    else {
      const viewData = await createFreshPostgresDatabase(postgresUrl, 'takeover_view_data');
      drops.push(viewData.drop);
      env.DATABASE_URL = viewData.connectionString;
    }
    bookStore = createPostgresDatabase({ connectionString: messageStore.connectionString });
  } else {
    bookStore = await createPgliteDatabase({ dataDir: path.join(directory, 'message-store') });
  }
  await installMessageDb(bookStore);

  log(`Writing the book's history: ${users} users, ${viewings} viewings, ${videos} videos…`);
  const writing = performance.now();
  const history = await writeBookHistory(bookStore, {
    users,
    viewings,
    videos,
    bcryptRounds,
    onProgress: (written) => {
      if (written % 5000 === 0) log(`  ${written} messages`);
    },
  });
  const writtenMs = performance.now() - writing;
  await bookStore.close();
  log(`  ${history.messageCount} messages in ${seconds(writtenMs)} s`);

  log('Starting this system on it (every component and aggregator, empty View Data)…');
  const started = performance.now();
  const system = await startSystem(readConfig(env), { web: false, workers: true });
  const startedMs = performance.now() - started;
  const subscriptions = system.pieces.flatMap((piece) =>
    piece.subscriptions.map((subscription) => ({
      // Its parking lot is named after its subscriber id.
      consumer: `${piece.name} ${subscription.parkingLot.streamName.replace(/^parkedMessages-/, '')}`,
      subscription,
    })),
  );
  /** When each consumer (piece and subscriber id) first caught up. */
  const caughtUpAt = new Map<string, number>();
  // Caught up = every consumer has read everything, including what the others wrote meanwhile.
  for (let lastHead = -1, firstPass = true; ; firstPass = false) {
    await Promise.all(
      subscriptions.map(async ({ consumer, subscription }) => {
        await subscription.waitUntilCaughtUp({ timeoutMs: 60 * 60_000 });
        if (firstPass) caughtUpAt.set(consumer, performance.now() - started);
      }),
    );
    const [row] = await system.messageStoreDb.query<{ head: string | number | null }>(
      'SELECT max(global_position) AS head FROM message_store.messages',
    );
    const head = Number(row?.head ?? 0);
    if (head === lastHead) break;
    lastHead = head;
  }
  const totalMs = performance.now() - started;

  const [home] = await system.viewData.query<{ watched: string | null }>(
    `SELECT page_data->>'videosWatched' AS watched FROM pages WHERE page_name = 'home'`,
  );
  const [credentials] = await system.viewData.query<{ count: string | number }>(
    'SELECT count(*) AS count FROM user_credentials',
  );
  const [parked] = await system.messageStoreDb.query<{ count: string | number }>(
    `SELECT count(*) AS count FROM message_store.messages
      WHERE message_store.category(stream_name) = 'parkedMessages' AND type = 'MessageParked'`,
  );
  await system.stop();

  const where = postgresUrl
    ? `PostgreSQL, View Data ${values['shared-view-data'] ? 'in the message store database' : 'in a database of its own'}`
    : 'PGlite (View Data in the same database)';
  const lines = [
    `Takeover of a book message store — ${where}, ${os.cpus().length} CPUs`,
    `  history: ${history.messageCount} messages (${users} users, ${viewings} viewings, ${videos} videos), written in ${seconds(writtenMs)} s`,
    `  start-up (Message DB upgrade, View Data migrations, pieces started): ${seconds(startedMs)} s`,
    `  every piece caught up: ${seconds(totalMs)} s after start (${Math.round(history.messageCount / (totalMs / 1000))} history messages/s)`,
    '  caught up, by consumer (s after start):',
    ...[...caughtUpAt].sort((a, b) => b[1] - a[1]).map(([consumer, ms]) => `    ${consumer.padEnd(76)} ${seconds(ms)}`),
    `  checks: home page ${home?.watched ?? 0} viewings of ${viewings}; ${Number(credentials?.count ?? 0)} credentials of ${users} users; ${Number(parked?.count ?? 0)} parked`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const matches =
    Number(home?.watched ?? 0) === viewings && Number(credentials?.count ?? 0) === users && Number(parked?.count) === 0;
  exitCode = matches ? 0 : 1;
} finally {
  for (const drop of drops) await drop().catch(() => {});
  await rm(directory, { recursive: true, force: true });
}
process.exit(exitCode);
