/**
 * The commands end to end, as `npm start -- …` runs them: on the embedded
 * PGlite in a temporary DATA_DIRECTORY, or on PostgreSQL when TEST_POSTGRES_URL
 * is set. And the embedded directory's lock: one process at a time.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMessageStore, type Database } from 'message-db-toolkit';
import { createPgliteDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../config.js';
import { openMessageStoreDatabase } from '../system.js';
import { runCli } from '../test-support/cli.js';
import { DataDirectoryInUseError, lockDataDirectory } from '../data-directory-lock.js';
import { SHARED_SEARCH_PATH } from '../view-data/migrations.js';

let directory: string;
let postgres: TestDatabase | undefined;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'vt-cli-'));
  if (testDatabaseKind === 'postgres') {
    postgres = await createTestDatabase({ install: false });
    env = { DATA_DIRECTORY: directory, MESSAGE_STORE_CONNECTION_STRING: postgres.connectionString! };
  } else env = { DATA_DIRECTORY: directory };
});
afterAll(async () => {
  await postgres?.drop();
  await rm(directory, { recursive: true, force: true });
});

/** The database the commands wrote, opened after they finished. */
async function openWritten<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const db = postgres
    ? createPostgresDatabase({ connectionString: postgres.connectionString!, searchPath: SHARED_SEARCH_PATH })
    : await createPgliteDatabase({ dataDir: path.join(directory, 'message-store'), searchPath: SHARED_SEARCH_PATH });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

// Each test starts a process that opens (and on first use installs) the database: slow on a busy machine.
describe('populate and rebuild, run as commands', { timeout: 120_000 }, () => {
  it('populate writes the messages and says what it did', async () => {
    const { code, stdout, stderr } = await runCli(['populate', '--users', '2', '--viewings', '7'], env);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toContain(
      'Wrote 2 Register commands (identity:command-{userId}) and 7 VideoViewed events over 5 videos (viewing-{videoId}).',
    );
    expect(stdout).toMatch(/Users: user-1\.\w+@example\.com … user-2\.\w+@example\.com, password "password123"/);
    expect(stdout).toContain('These are messages only');
    await openWritten(async (db) => {
      const store = createMessageStore({ db });
      expect(await store.read('identity:command', { from: 0, max: 100 })).toHaveLength(2);
      expect(await store.read('viewing', { from: 0, max: 100 })).toHaveLength(7);
    });
  });

  it('rebuild replays an aggregator and records its position', async () => {
    const { code, stdout, stderr } = await runCli(['rebuild', 'video-views'], env);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(
      /^Rebuilding video-views \(video_view_counts\) from viewing…\nRebuilt video-views: 7 messages replayed in [\d.]+ s; video_view_counts swapped in \(live tables locked for \d+ ms\); position \d+ recorded in consumer_positions\/aggregators:video-views\.\nThe replaced tables were dropped\.\n$/,
    );
    await openWritten(async (db) => {
      const counts = await db.query<{ total: number }>('SELECT sum(view_count)::int AS total FROM video_view_counts');
      expect(counts).toEqual([{ total: 7 }]);
    });
  });
});

describe.runIf(testDatabaseKind === 'pglite')(
  'the embedded database, one process at a time',
  { timeout: 120_000 },
  () => {
    it('refuses populate while another process (a running start) has the directory open', async () => {
      const config = readConfig({ DATA_DIRECTORY: directory });
      // This process plays the running `npm start`: it opens the directory as start does.
      const running = await openMessageStoreDatabase(config);
      try {
        await expect(openMessageStoreDatabase(config)).rejects.toThrow(DataDirectoryInUseError);
        const { code, stdout, stderr } = await runCli(['populate'], env);
        expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
        expect(stderr).toContain(
          `The embedded database in ${path.join(directory, 'message-store')} is in use by process ${process.pid}`,
        );
        expect(stderr).toContain('PGlite can be opened by one process at a time');
        expect(stderr).toContain('MESSAGE_STORE_CONNECTION_STRING');
      } finally {
        await running.close();
      }
      // Closed: the lock is gone, and the next one opens it.
      await expect(readFile(path.join(directory, 'message-store.lock'))).rejects.toThrow(/ENOENT/);
      await (await openMessageStoreDatabase(config)).close();
    });
  },
);

describe('the data directory lock', () => {
  it('takes over a lock left by a process that is gone', async () => {
    const dead = await new Promise<number>((resolve) => {
      const child = execFile(process.execPath, ['-e', '']);
      child.on('exit', () => resolve(child.pid!));
    });
    const target = path.join(directory, 'other');
    await writeFile(`${target}.lock`, JSON.stringify({ pid: dead, command: 'killed', since: 'then' }));
    const lock = await lockDataDirectory(target);
    expect(JSON.parse(await readFile(`${target}.lock`, 'utf8'))).toMatchObject({ pid: process.pid });
    await expect(lockDataDirectory(target)).rejects.toThrow(`is in use by process ${process.pid}`);
    await lock.release();
    await expect(readFile(`${target}.lock`)).rejects.toThrow(/ENOENT/);
  });

  it('takes over a lock with its own pid that it does not hold (a restarted container)', async () => {
    const target = path.join(directory, 'restarted');
    await writeFile(`${target}.lock`, JSON.stringify({ pid: process.pid, command: 'earlier life', since: 'then' }));
    const lock = await lockDataDirectory(target, 'this life');
    // Taken over: the file is rewritten as this process's, and now held, so a second open is refused.
    const holder = JSON.parse(await readFile(`${target}.lock`, 'utf8')) as { command: string; since: string };
    expect(holder).toMatchObject({ pid: process.pid, command: 'this life' });
    expect(holder.since).not.toBe('then');
    await expect(lockDataDirectory(target)).rejects.toThrow(DataDirectoryInUseError);
    await lock.release();
    await expect(readFile(`${target}.lock`)).rejects.toThrow(/ENOENT/);
  });
});
