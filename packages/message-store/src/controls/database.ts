import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Database } from '../database/port.js';
import { installMessageDb } from '../install.js';

/**
 * The database a test runs against: PGlite in memory by default, or — when
 * `TEST_POSTGRES_URL` names a PostgreSQL server — a fresh database created on
 * it for this test file and dropped afterwards.
 */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL;
export const testDatabaseKind: Database['kind'] = TEST_POSTGRES_URL ? 'postgres' : 'pglite';
/** Where PGlite runs in tests: on its own thread, or in the test's (`TEST_PGLITE=in-process`). */
export const testPgliteThread = process.env.TEST_PGLITE === 'in-process' ? 'in-process' : 'thread';

/**
 * A file holding a new, empty PGlite database, as `writePgliteTemplate` wrote it: when set, every PGlite
 * test database starts from it instead of creating a cluster. Creating one (initdb) takes seconds; loading
 * the template a fraction of that, and a test run opens well over a hundred.
 */
export const TEST_PGLITE_TEMPLATE = process.env.TEST_PGLITE_TEMPLATE;

let template: Promise<Blob | undefined> | undefined;

/**
 * The template named by `TEST_PGLITE_TEMPLATE`, read once per process, or undefined without one. In memory, not
 * backed by its file: only such a Blob crosses to a PGlite thread (and it does so without a copy).
 */
export function testPgliteTemplate(): Promise<Blob | undefined> {
  template ??= TEST_PGLITE_TEMPLATE
    ? readFile(TEST_PGLITE_TEMPLATE).then((bytes) => new Blob([bytes]))
    : Promise.resolve(undefined);
  return template;
}

/**
 * Writes a new, empty PGlite database (with the extensions the adapters load) to `file`, for
 * `TEST_PGLITE_TEMPLATE`: make it once before a test run, in a global setup.
 */
export async function writePgliteTemplate(file: string): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { pgcrypto } = await import('@electric-sql/pglite/contrib/pgcrypto');
  const pglite = await PGlite.create({ extensions: { pgcrypto } });
  try {
    const dump = await pglite.dumpDataDir('none');
    await writeFile(file, new Uint8Array(await dump.arrayBuffer()));
  } finally {
    await pglite.close();
  }
}

export interface TestDatabase {
  db: Database;
  /** A connection string for another connection to the same database (PostgreSQL only). */
  connectionString: string | null;
  /** Opens another independent Database on the same data, with the same search path unless told (PostgreSQL only). */
  connectAgain(options?: { searchPath?: readonly string[] }): Database;
  drop(): Promise<void>;
}

export async function createTestDatabase(
  options: {
    install?: boolean;
    /** The handle's search path (the adapters' default otherwise). */ searchPath?: readonly string[];
  } = {},
): Promise<TestDatabase> {
  const install = options.install ?? true;
  const path = options.searchPath ? { searchPath: options.searchPath } : {};
  // The adapters are loaded only when used: a project that tests on one of them need not install the other's driver.
  if (!TEST_POSTGRES_URL) {
    const { createPgliteDatabase, createPgliteThreadDatabase } = await import('../pglite.js');
    const opening = { ...path, loadDataDir: await testPgliteTemplate() };
    const db =
      testPgliteThread === 'thread' ? await createPgliteThreadDatabase(opening) : await createPgliteDatabase(opening);
    if (install) await installMessageDb(db);
    return {
      db,
      connectionString: null,
      connectAgain() {
        throw new Error('PGlite has one session in one process: there is no second connection');
      },
      drop: () => db.close(),
    };
  }
  const { createPostgresDatabase } = await import('../postgres.js');
  const fresh = await createFreshPostgresDatabase(TEST_POSTGRES_URL, 'message_store_test');
  const { connectionString } = fresh;
  const opened: Database[] = [];
  const connectAgain = (again: { searchPath?: readonly string[] } = {}) => {
    const another = createPostgresDatabase({ connectionString, ...path, ...again });
    opened.push(another);
    return another;
  };
  const db = connectAgain();
  if (install) await installMessageDb(db);
  return {
    db,
    connectionString,
    connectAgain,
    async drop() {
      await Promise.all(opened.map((each) => each.close().catch(() => {})));
      await fresh.drop();
    },
  };
}

/**
 * Creates a new, empty database named `{prefix}_{time}_{random}` on the server
 * at `adminUrl` (whose role may create databases); `drop()` removes it, whoever
 * is still connected.
 */
export async function createFreshPostgresDatabase(adminUrl: string, prefix: string) {
  const name = `${prefix}_${Date.now()}_${randomBytes(4).toString('hex')}`;
  await runAsAdmin(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    connectionString: url.toString(),
    drop: () => runAsAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function runAsAdmin(adminUrl: string, sql: string) {
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}
