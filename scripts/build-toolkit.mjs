#!/usr/bin/env node
// Builds the toolkit (packages/message-store → dist/) when its sources changed since the last build: the
// application imports `message-db-toolkit` as an outsider does, from the built package. Run before everything
// that runs the application (npm start, the benches, typecheck, lint) and as vitest's global setup.
// Checking times first keeps an up-to-date run instant (tsc itself takes seconds to find nothing to do).
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const toolkit = path.join(root, 'packages/message-store');
const buildInfo = path.join(toolkit, 'dist/.tsbuildinfo');

/** The newest modification time among these files and, for folders, everything in them (a deletion changes its folder's). */
function newest(entries) {
  let latest = 0;
  for (const entry of entries) {
    const stats = statSync(entry, { throwIfNoEntry: false });
    if (!stats) continue;
    latest = Math.max(latest, stats.mtimeMs);
    if (stats.isDirectory())
      latest = Math.max(latest, newest(readdirSync(entry).map((name) => path.join(entry, name))));
  }
  return latest;
}

export function buildToolkit() {
  const built = statSync(buildInfo, { throwIfNoEntry: false })?.mtimeMs ?? 0;
  const inputs = ['src', 'tsconfig.build.json', 'package.json', '../../tsconfig.json'].map((entry) =>
    path.join(toolkit, entry),
  );
  if (built > newest(inputs)) return;
  process.stderr.write('Building message-db-toolkit (packages/message-store/dist)…\n');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(toolkit, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  if (result.status !== 0)
    throw new Error(`Building message-db-toolkit failed (tsc exit ${result.status ?? result.signal})`);
  // tsc leaves its build info alone when nothing it emits changed (a test file was edited): mark the build current.
  const now = new Date();
  utimesSync(buildInfo, now, now);
}

// vitest's global setup: every test run (npm test, test:postgres, npx vitest run FILE) builds first,
// then makes the empty PGlite database every PGlite test database starts from (TEST_PGLITE_TEMPLATE):
// loading it takes a fraction of the seconds initdb takes, and a run opens well over a hundred.
// The test files' processes are started after this, so they inherit the variable.
export default async function setup() {
  buildToolkit();
  if (process.env.TEST_PGLITE_TEMPLATE) return undefined;
  const controls = path.join(toolkit, 'dist/controls/index.js');
  const { writePgliteTemplate } = await import(pathToFileURL(controls).href);
  const template = path.join(tmpdir(), `message-db-toolkit-template-${process.pid}.tar`);
  await writePgliteTemplate(template);
  process.env.TEST_PGLITE_TEMPLATE = template;
  return () => rmSync(template, { force: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    buildToolkit();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}
