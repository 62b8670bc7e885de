import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import {
  MESSAGE_DB_SEARCH_PATH,
  searchPathSetting,
  type Claim,
  type Database,
  type Queryable,
  type Row,
} from './port.js';

export interface PgliteOptions {
  /** A directory for persistent data; omitted means in memory. */
  dataDir?: string;
  /**
   * A database to start from, as PGlite's `dumpDataDir()` wrote it: opening one is far quicker than
   * creating a cluster (initdb). Only for a new database — PGlite refuses it when `dataDir` already holds one.
   */
  loadDataDir?: Blob | undefined;
  /** How often to refresh planner statistics (PGlite has no autovacuum); default 5 minutes. */
  analyzeIntervalMs?: number;
  /** The schemas its one session looks names up in; default `MESSAGE_DB_SEARCH_PATH` (`message_store, public`). */
  searchPath?: readonly string[];
}

/**
 * The embedded adapter: PostgreSQL compiled to WASM, in this process.
 *
 * PGlite has a single session. Its own mutex makes every `query` wait while a
 * `transaction` is open, so unrelated async work never runs inside another
 * caller's transaction. Inside `transaction(work)`, `work` must use the `tx`
 * it is given: calling the database itself there would wait for the
 * transaction it is part of.
 */
export async function createPgliteDatabase(options: PgliteOptions = {}): Promise<Database> {
  const searchPath = searchPathSetting(options.searchPath ?? MESSAGE_DB_SEARCH_PATH);
  const pglite = await PGlite.create({
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    extensions: { pgcrypto },
  });
  await pglite.exec(`SET search_path = ${searchPath}`);

  // PGlite runs no autovacuum, so no table would get planner statistics: without them
  // get_category_messages sorts everything after the position, and catch-up turns quadratic.
  // Analyze now and then, as autovacuum would.
  const analyze = () => pglite.exec('ANALYZE').catch(() => {});
  await analyze();
  const analyzer = setInterval(() => void analyze(), options.analyzeIntervalMs ?? 5 * 60_000);
  analyzer.unref();

  // One session means advisory locks cannot tell holders apart: claims are kept here.
  const claimed = new Set<string>();

  const run = async <R extends Row>(target: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]) =>
    (await target.query<R>(sql, params as unknown[] | undefined)).rows;

  return {
    kind: 'pglite',
    query: (sql, params) => run(pglite, sql, params),
    exec: async (sql) => {
      await pglite.exec(sql);
    },
    transaction: (work) =>
      pglite.transaction((transaction) =>
        work({
          query: (sql, params) => run(transaction, sql, params),
          exec: async (sql) => {
            await transaction.exec(sql);
          },
        } satisfies Queryable),
      ),
    async tryClaim(key1, key2) {
      const key = `${key1}:${key2}`;
      if (claimed.has(key)) return null;
      claimed.add(key);
      const claim: Claim = {
        lost: new Promise<void>(() => {}),
        async release() {
          claimed.delete(key);
        },
      };
      return claim;
    },
    async countClaims(key1) {
      return [...claimed].filter((key) => key.startsWith(`${key1}:`)).length;
    },
    session: () => ({
      query: (sql, params) => run(pglite, sql, params),
      exec: async (sql) => {
        await pglite.exec(sql);
      },
      async close() {},
    }),
    async close() {
      clearInterval(analyzer);
      if (!pglite.closed) await pglite.close();
    },
  };
}
