/**
 * The toolkit as an outsider gets it: `npm pack` of the built package (vitest's global setup built dist/),
 * installed with its peers into a project in the temp directory, far from this workspace, and used by plain `node`
 * ESM scripts (no tsx, no TypeScript): the core without `pg` or PGlite installed, then the first steps on PGlite
 * (on its thread: the worker file must be shipped) and, when the suite runs on PostgreSQL, on PostgreSQL, and a
 * test written with the test kit. The README's code samples are checked to be regions of those scripts.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFreshPostgresDatabase, TEST_POSTGRES_URL } from './controls/database.js';

const run = promisify(execFile);
const toolkit = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scripts = path.join(toolkit, 'package-test');
const workspace = path.resolve(toolkit, '../..');

/** The environment without npm's own variables of the `npm test` that started us (workspace, prefix…). */
const outsiderEnvironment = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_'))),
  ...extra,
});

/** The version the workspace installed, so that the npm cache has it. */
async function installedVersion(name: string) {
  const manifest = path.join(workspace, 'node_modules', name, 'package.json');
  return `${name}@${(JSON.parse(await readFile(manifest, 'utf8')) as { version: string }).version}`;
}

let project: string;
let packed: { filename: string; files: { path: string }[] };

async function npm(...args: string[]) {
  return run('npm', [...args, '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: project,
    env: outsiderEnvironment(),
    timeout: 60_000,
  });
}

// Under the test's 60 s, but with room: side by side on a busy machine, each script's PGlite initdb alone takes 10–20 s.
const node = (args: string[], extra: Record<string, string> = {}) =>
  run(process.execPath, args, { cwd: project, env: outsiderEnvironment(extra), timeout: 50_000 });

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'message-db-toolkit-outsider-'));
  // dist/ is already built; packing must not rebuild it under the other test files that run on it.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], {
    cwd: toolkit,
    env: outsiderEnvironment(),
  });
  [packed] = JSON.parse(stdout) as [typeof packed];
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'outsider', private: true, type: 'module' }),
  );
  for (const script of await readdir(scripts)) await copyFile(path.join(scripts, script), path.join(project, script));
  // The package with its one required peer: the drivers come later, after the core was tried without them.
  await npm('install', path.join(project, packed.filename), await installedVersion('zod'));
}, 120_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds the built JavaScript, its types, the PGlite thread worker, README and LICENSE, and no tests or sources', () => {
    const files = packed.files.map((file) => file.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/postgres.js',
        'dist/pglite.js',
        'dist/controls/index.js',
        'dist/database/pglite-thread-worker.js',
      ]),
    );
    expect(
      files.filter((file) => !file.startsWith('dist/') && !/^(LICENSE|README\.md|package\.json)$/.test(file)),
    ).toEqual([]);
    expect(files.filter((file) => /\.test\.|\.worker\.|tsbuildinfo/.test(file))).toEqual([]);
  });

  it('types every export: no type the declaration emit had to elide to `any`', async () => {
    const declarations = packed.files.map((file) => file.path).filter((file) => file.endsWith('.d.ts'));
    for (const file of declarations)
      expect(await readFile(path.join(toolkit, file), 'utf8'), file).not.toContain('elided');
  });

  it('installed with zod alone, its core loads without pg or PGlite', async () => {
    const { stdout } = await node(['core-only.mjs']);
    expect(stdout).toContain('the core loaded without pg or PGlite');
  });
});

// The scripts are independent of each other: run them side by side once the drivers are installed.
describe('installed with pg and PGlite beside it', { concurrent: true }, () => {
  beforeAll(async () => {
    await npm('install', await installedVersion('pg'), await installedVersion('@electric-sql/pglite'));
  }, 90_000);

  it('takes a newcomer through the first steps on PGlite', async () => {
    const { stdout } = await node(['first-steps.mjs']);
    expect(stdout).toContain('woken: handled');
    expect(stdout).toContain('first steps done on pglite');
  });

  it.runIf(TEST_POSTGRES_URL)('takes a newcomer through the first steps on PostgreSQL', async () => {
    const fresh = await createFreshPostgresDatabase(TEST_POSTGRES_URL!, 'message_store_outsider');
    try {
      const { stdout } = await node(['first-steps.mjs'], { MESSAGE_STORE_CONNECTION_STRING: fresh.connectionString });
      expect(stdout).toContain('first steps done on postgres');
    } finally {
      await fresh.drop();
    }
  });

  it("runs the README's reference samples", async () => {
    const { stdout } = await node(['reference.mjs']);
    expect(stdout).toContain('reference samples done');
  });

  it('runs a test written with the test kit (`/controls`)', async () => {
    const { stdout } = await node(['--test', '--test-reporter=tap', 'store.test.mjs']);
    expect(stdout).toMatch(/^# pass 1$/m);
  });

  it("starts the kit's PGlite databases from a template made in a global setup, as the README shows", async () => {
    const { stdout } = await node(['template.mjs'], { TEST_POSTGRES_URL: '' });
    expect(stdout).toContain('template written: removed by the teardown');
    expect(stdout).toMatch(/^# pass 1$/m);
  });
});

describe("the toolkit's README", () => {
  it('shows only code that these scripts run: each JavaScript sample is a #region of one of them', async () => {
    const readme = await readFile(path.join(toolkit, 'README.md'), 'utf8');
    const samples = [...readme.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((match) => match[1]!.trimEnd());
    const regions: string[] = [];
    for (const script of await readdir(scripts)) {
      const text = await readFile(path.join(scripts, script), 'utf8');
      for (const [, body] of text.matchAll(/^[ \t]*\/\/ #region [\w-]+\n([\s\S]*?)^[ \t]*\/\/ #endregion$/gm))
        regions.push(dedent(body!).trimEnd());
    }
    expect(samples.length).toBeGreaterThan(5);
    for (const sample of samples) expect(regions, 'a README sample that no script runs').toContain(sample);
  });
});

function dedent(text: string) {
  const lines = text.split('\n');
  const indent = Math.min(...lines.filter((line) => line.trim()).map((line) => /^ */.exec(line)![0].length));
  return lines.map((line) => line.slice(indent)).join('\n');
}
