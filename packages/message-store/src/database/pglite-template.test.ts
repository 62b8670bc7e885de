import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPgliteTemplate, writePgliteTemplate } from '../controls/index.js';
import { installMessageDb } from '../install.js';
import { createMessageStore } from '../store.js';
import { createPgliteDatabase } from './pglite.js';
import { createPgliteThreadDatabase } from './pglite-thread.js';
import type { Database } from './port.js';

let directory: string;
/** A dump of a database holding one marked row: what loads from it is that database, not a new one. */
let marked: Blob;
beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'pglite-template-'));
  const pglite = await PGlite.create();
  await pglite.exec(`CREATE TABLE marker (said text); INSERT INTO marker VALUES ('from the dump')`);
  marked = new Blob([await (await pglite.dumpDataDir('none')).arrayBuffer()]);
  await pglite.close();
});
afterAll(() => rm(directory, { recursive: true, force: true }));

const adapters = {
  'in this thread': createPgliteDatabase,
  'on its own thread': createPgliteThreadDatabase,
} as const;

const saidIn = async (db: Database) => (await db.query<{ said: string }>('SELECT said FROM marker'))[0]?.said;

describe.each(Object.entries(adapters))('a PGlite database started from a dump, %s', (_, open) => {
  it('holds what the dumped one held', async () => {
    const db = await open({ loadDataDir: marked });
    try {
      expect(await saidIn(db)).toBe('from the dump');
    } finally {
      await db.close();
    }
  });
});

// What the system does with a new data directory (on its thread); the rules on directories are PGlite's own.
describe('a new data directory started from a dump', () => {
  it('keeps it, refuses a second load over it, and later opens without the dump', async () => {
    const dataDir = await mkdtemp(path.join(directory, 'data-'));
    const first = await createPgliteThreadDatabase({ dataDir, loadDataDir: marked });
    await first.query(`INSERT INTO marker VALUES ('written after loading')`);
    await first.close();

    await expect(createPgliteThreadDatabase({ dataDir, loadDataDir: marked })).rejects.toThrow(/already exists/);

    const again = await createPgliteThreadDatabase({ dataDir });
    try {
      const said = await again.query<{ said: string }>('SELECT said FROM marker ORDER BY said');
      expect(said.map((row) => row.said)).toEqual(['from the dump', 'written after loading']);
    } finally {
      await again.close();
    }
  });
});

describe('the test kit’s template', () => {
  it('writes an empty database that Message DB installs into and a store writes to, on either adapter', async () => {
    const file = path.join(directory, 'template.tar');
    await writePgliteTemplate(file);
    const template = new Blob([await readFile(file)]);
    for (const open of Object.values(adapters)) {
      const db = await open({ loadDataDir: template });
      try {
        expect(await db.query(`SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public'`)).toEqual([
          { tables: 0 },
        ]);
        expect((await installMessageDb(db)).action).toBe('installed');
        const store = createMessageStore({ db });
        await store.write('account-1', { id: randomUUID(), type: 'Opened', data: {} });
        expect((await store.read('account-1')).map((message) => message.type)).toEqual(['Opened']);
      } finally {
        await db.close();
      }
    }
  });

  it('is what this run’s test databases start from (the global setup made it)', async () => {
    const template = await testPgliteTemplate();
    expect(template).toBeInstanceOf(Blob);
    expect(template!.size).toBeGreaterThan(1_000_000);
    expect(await testPgliteTemplate()).toBe(template); // read once per process
  });
});
