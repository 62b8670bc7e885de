/**
 * PGlite on its own thread against PGlite in this thread: the same rows, the
 * same errors, notifications forwarded, and a thread that dies or closes
 * leaves no caller waiting and no process running.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { messages } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPgliteTemplate } from '../controls/index.js';
import { isUniqueViolation, VersionConflictError } from '../errors.js';
import { installMessageDb } from '../install.js';
import { createMessageStore } from '../store.js';
import { createPgliteDatabase } from './pglite.js';
import { createPgliteThreadDatabase, PgliteThreadStoppedError, type PgliteThreadDatabase } from './pglite-thread.js';
import type { Database } from './port.js';

let inProcess: Database;
let threaded: PgliteThreadDatabase;
beforeAll(async () => {
  const loadDataDir = await testPgliteTemplate();
  [inProcess, threaded] = await Promise.all([
    createPgliteDatabase({ loadDataDir }),
    createPgliteThreadDatabase({ loadDataDir }),
  ]);
});
afterAll(async () => {
  await Promise.all([inProcess?.close(), threaded?.close()]);
});

/** Runs `work` on both adapters and returns both outcomes (value or error). */
async function onBoth<T>(work: (db: Database) => Promise<T>) {
  const settle = (db: Database) =>
    work(db).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  return { inProcess: await settle(inProcess), threaded: await settle(threaded) };
}

describe('values', () => {
  it('comes back as the in-process adapter returns them', async () => {
    const sql = `SELECT 1::int2 AS small, 2::int4 AS int, 9007199254740993::int8 AS big, 1.25::numeric AS numeric,
        2.5::float8 AS float, true AS yes, NULL::text AS nothing, 'tekst ✓'::text AS text,
        '2026-01-02T03:04:05.678Z'::timestamptz AS at, '2026-01-02 03:04:05'::timestamp AS local_at,
        '2026-01-02'::date AS day, '{"a":[1,{"b":null}]}'::jsonb AS jsonb, '{"c":"d"}'::json AS json,
        '\\x00ff10'::bytea AS bytes, ARRAY[1,2,3]::int[] AS ints, ARRAY['x','y'] AS texts,
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS id, $1::jsonb AS param_json, $2::timestamptz AS param_at,
        $3::bytea AS param_bytes, $4::int8 AS param_big, $5::text AS param_null`;
    const params = [
      { nested: { list: [1, 'two'] } },
      new Date('2026-05-06T07:08:09.010Z'),
      new Uint8Array([1, 2, 3]),
      12345678901234n,
      null,
    ];
    const both = await onBoth((db) => db.query(sql, params));
    expect(both.threaded).toEqual(both.inProcess);
    const [row] = (both.threaded as { value: Record<string, unknown>[] }).value;
    expect(row?.at).toBeInstanceOf(Date);
    expect(row?.bytes).toBeInstanceOf(Uint8Array);
    expect(row?.jsonb).toEqual({ a: [1, { b: null }] });
    expect(typeof row?.big).toBe(typeof (both.inProcess as { value: Record<string, unknown>[] }).value[0]?.big);
  });

  it('reads Message DB messages the same way', async () => {
    await Promise.all([installMessageDb(inProcess), installMessageDb(threaded)]);
    const both = await onBoth(async (db) => {
      const store = createMessageStore({ db });
      await store.write('probe-1', { id: 'ab1c2d3e-0000-4000-8000-000000000001', type: 'Probed', data: { n: 1 } });
      const messagesRead = await store.read('probe-1');
      return messagesRead.map(({ time: _time, ...rest }) => rest);
    });
    expect(both.threaded).toEqual(both.inProcess);
    expect((both.threaded as { value: unknown[] }).value).toHaveLength(1);
  });
});

describe('errors', () => {
  it("are PGlite's DatabaseError with the same fields", async () => {
    const both = await onBoth((db) => db.query('SELECT * FROM no_such_table WHERE id = $1', [1]));
    const [expected, actual] = [both.inProcess, both.threaded].map((outcome) => (outcome as { error: Error }).error);
    expect(actual).toBeInstanceOf(messages.DatabaseError);
    expect(actual?.message).toBe(expected?.message);
    const { params: _params, ...fields } = { ...expected } as Record<string, unknown>;
    expect({ ...actual }).toMatchObject(fields);
    expect((actual as { code?: string }).code).toBe('42P01');
  });

  it('let callers tell unique violations and version conflicts', async () => {
    await threaded.query('CREATE TABLE unique_probe (id int PRIMARY KEY)');
    await threaded.query('INSERT INTO unique_probe VALUES (1)');
    const duplicate = await threaded.query('INSERT INTO unique_probe VALUES (1)').catch((error: unknown) => error);
    expect(isUniqueViolation(duplicate)).toBe(true);

    const store = createMessageStore({ db: threaded });
    await store.write('conflict-1', { id: 'ab1c2d3e-0000-4000-8000-000000000002', type: 'Probed', data: {} }, -1);
    await expect(
      store.write('conflict-1', { id: 'ab1c2d3e-0000-4000-8000-000000000003', type: 'Probed', data: {} }, -1),
    ).rejects.toThrow(VersionConflictError);
  });

  it('rejects parameters that cannot cross to the thread and stays usable', async () => {
    await expect(threaded.query('SELECT $1::text AS x', [() => 'no'])).rejects.toThrow(/could not be cloned/);
    expect(await threaded.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });
});

describe('transactions on the thread', () => {
  it('run only their own statements and end as their work does', async () => {
    await threaded.query('CREATE TABLE thread_tx (id int PRIMARY KEY, by text)');
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    let opened: () => void = () => {};
    const isOpen = new Promise<void>((resolve) => (opened = resolve));
    const failing = threaded
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO thread_tx VALUES (1, 'transaction')`);
        opened();
        await held;
        throw new Error('roll me back');
      })
      .catch((error: Error) => error.message);
    await isOpen;
    const outside = threaded.query(`INSERT INTO thread_tx VALUES (2, 'outside')`);
    // No signal: a write queued behind the transaction tells nothing; this gives it time to wrongly run inside.
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect(await failing).toBe('roll me back');
    await outside;
    expect(await threaded.transaction((tx) => tx.query('SELECT id, by FROM thread_tx ORDER BY id'))).toEqual([
      { id: 2, by: 'outside' },
    ]);
  });

  it('report a statement failing inside with its code and roll back', async () => {
    const error = await threaded
      .transaction(async (tx) => {
        await tx.query(`INSERT INTO thread_tx VALUES (3, 'rolled back')`);
        await tx.query(`INSERT INTO thread_tx VALUES (2, 'duplicate')`);
      })
      .catch((caught: unknown) => caught);
    expect(isUniqueViolation(error)).toBe(true);
    expect(await threaded.query('SELECT id FROM thread_tx ORDER BY id')).toEqual([{ id: 2 }]);
  });
});

describe('a thread that dies', () => {
  it('fails waiting and later calls, open transactions and claims with a clear error', async () => {
    const db = await createPgliteThreadDatabase({ loadDataDir: await testPgliteTemplate() });
    const claim = await db.tryClaim(1, 1);
    let inTransaction: () => void = () => {};
    const transactionOpen = new Promise<void>((resolve) => (inTransaction = resolve));
    const transaction = db
      .transaction(async (tx) => {
        inTransaction();
        await new Promise((resolve) => setTimeout(resolve, 200));
        return tx.query('SELECT 1');
      })
      .catch((error: unknown) => error);
    await transactionOpen;
    const waiting = db.query('SELECT 1').catch((error: unknown) => error);

    await db.worker.terminate();

    expect(await waiting).toBeInstanceOf(PgliteThreadStoppedError);
    expect(await transaction).toBeInstanceOf(PgliteThreadStoppedError);
    await expect(db.query('SELECT 1')).rejects.toThrow(/The PGlite thread stopped \(exit code 1\)/);
    await expect(claim?.lost).resolves.toBeUndefined();
    await db.close();
  });

  it('cannot open on a data directory that is a file, and says why', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'pglite-thread-'));
    try {
      const file = path.join(directory, 'not-a-directory');
      await writeFile(file, 'x');
      await expect(createPgliteThreadDatabase({ dataDir: file })).rejects.toThrow(
        `PGlite could not start in ${file}: ErrnoError { name: 'ErrnoError', errno: 54 }`,
      );
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

// Each test starts a process that loads PGlite: slow on a busy machine.
describe('the process', { timeout: 150_000 }, () => {
  const adapter = fileURLToPath(new URL('./pglite-thread.ts', import.meta.url));
  const tsx = fileURLToPath(new URL('../../../../node_modules/.bin/tsx', import.meta.url));
  /** Runs `script` as a module in a new process; a process kept alive is killed after 120 s (code null). */
  const run = (script: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        tsx,
        ['--input-type=module', '-e', script],
        { timeout: 120_000 },
        (error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr: stderr || (error?.message ?? '') }),
      );
    });

  it('waits for an answer, and exits after close without being told to', async () => {
    const result = await run(
      `import { createPgliteThreadDatabase } from ${JSON.stringify(adapter)};
       const db = await createPgliteThreadDatabase();
       const [row] = await db.query("SELECT 'answered' AS said, pg_sleep(0.3)");
       await db.close();
       console.log(row.said, db.worker.threadId);`,
    );
    expect(result).toMatchObject({ code: 0, stdout: 'answered -1\n', stderr: '' });
  });

  it('is not kept alive by an idle database left open', async () => {
    const result = await run(
      `import { createPgliteThreadDatabase } from ${JSON.stringify(adapter)};
       const db = await createPgliteThreadDatabase();
       console.log((await db.query('SELECT 1 AS one'))[0].one);`,
    );
    expect(result).toMatchObject({ code: 0, stdout: '1\n', stderr: '' });
  });
});
