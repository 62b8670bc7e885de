#!/usr/bin/env node
// Runs the whole vitest suite against a PostgreSQL server instead of the embedded PGlite.
import { spawn } from 'node:child_process';
import pg from 'pg';

const DEFAULT_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const HELP = `Usage: npm run test:postgres [-- [admin-url] [vitest arguments...]]
       node scripts/test-postgres.mjs [admin-url] [vitest arguments...]

Runs "vitest run" with TEST_POSTGRES_URL set, so every test file creates its own
fresh database on that PostgreSQL server and drops it afterwards.

The admin connection string comes from TEST_POSTGRES_URL, else from the first
argument if it is a postgres:// or postgresql:// URL, else defaults to
  ${DEFAULT_URL}
Its role must be allowed to create databases. Other arguments go to vitest,
e.g. "npm run test:postgres -- packages/message-store -t subscription".`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}

const isUrl = (text) => /^postgres(ql)?:\/\//.test(text ?? '');
const urlFromArgs = isUrl(args[0]) ? args.shift() : undefined;
const url = process.env.TEST_POSTGRES_URL || urlFromArgs || DEFAULT_URL;

/** Where the server is, without user or password. */
function where(connectionString) {
  try {
    const parsed = new URL(connectionString);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

async function check() {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query(
      'SELECT current_setting($1) AS version, rolcreatedb OR rolsuper AS can_create FROM pg_roles WHERE rolname = current_user',
      ['server_version'],
    );
    return rows[0];
  } finally {
    await client.end().catch(() => {});
  }
}

let server;
try {
  server = await check();
} catch (error) {
  console.error(
    `test:postgres: cannot connect to PostgreSQL at ${where(url)}: ${error.message || error.code || error}`,
  );
  process.exit(1);
}
if (!server?.can_create) {
  console.error(`test:postgres: the role at ${where(url)} may not create databases, which every test file needs`);
  process.exit(1);
}
console.log(`test:postgres: running vitest against PostgreSQL ${server.version} at ${where(url)}`);

const child = spawn('npx', ['vitest', 'run', ...args], {
  stdio: 'inherit',
  env: { ...process.env, TEST_POSTGRES_URL: url },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('error', (error) => {
  console.error(`test:postgres: cannot start vitest: ${error.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
