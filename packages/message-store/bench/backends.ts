import pg from 'pg';
import { createFreshPostgresDatabase } from '../src/controls/database.js';
import { installMessageDb, type Database } from '../src/index.js';
import { createPgliteDatabase } from '../src/pglite.js';
import { createPostgresDatabase } from '../src/postgres.js';

export type BackendName = 'pglite' | 'postgres';

/** What the "direct" baselines query through: the same driver the toolkit uses, without the toolkit. */
export interface Direct {
  description: string;
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

export interface Backend {
  name: BackendName;
  /** A line about the server, for the report. */
  description: string;
  db: Database;
  direct: Direct;
  close(): Promise<void>;
}

// The same session option the toolkit's PostgreSQL adapter gives every connection.
const SEARCH_PATH_OPTION = '-c search_path=message_store,public';

export async function openPglite(): Promise<Backend> {
  const db = await createPgliteDatabase();
  await installMessageDb(db);
  const [row] = await db.query<{ version: string }>('SELECT version() AS version');
  return {
    name: 'pglite',
    description: `PGlite in memory (${row?.version.split(' on ')[0] ?? 'unknown version'})`,
    db,
    direct: {
      description: 'db.query of the PGlite port (a thin pass-through to PGlite.query on the same instance)',
      query: (sql, params) => db.query(sql, params),
    },
    close: () => db.close(),
  };
}

/** A fresh database on the server at `url`, with Message DB installed; dropped by `close()`. */
export async function openPostgres(url: string): Promise<Backend> {
  const fresh = await createFreshPostgresDatabase(url, 'message_store_bench');
  const { name, connectionString } = fresh;
  const databaseUrl = new URL(connectionString);

  let db: Database | undefined;
  let pool: pg.Pool | undefined;
  const close = async () => {
    await db?.close().catch(() => {});
    await pool?.end().catch(() => {});
    await fresh.drop();
  };
  try {
    db = createPostgresDatabase({ connectionString });
    await installMessageDb(db);
    pool = new pg.Pool({
      connectionString,
      options: SEARCH_PATH_OPTION,
      max: 10,
    });
    pool.on('error', () => {});
    const directPool = pool;
    const [row] = await db.query<{ version: string }>('SELECT version() AS version');
    const server = `${databaseUrl.hostname}:${databaseUrl.port || '5432'}`;
    return {
      name: 'postgres',
      description: `PostgreSQL at ${server}, database ${name} (${row?.version.split(' on ')[0] ?? 'unknown version'})`,
      db,
      direct: {
        description: `a separate pg.Pool on the same database with the same options ('${SEARCH_PATH_OPTION}')`,
        query: async (sql, params) => (await directPool.query<Record<string, unknown>>(sql, params)).rows,
      },
      close,
    };
  } catch (error) {
    await close().catch(() => {});
    throw error;
  }
}
