/**
 * The database port: the only thing the toolkit knows about a database.
 * Two adapters implement it — PostgreSQL through `pg` and PGlite in-process.
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  /** Runs one parameterized statement and returns its rows. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs a script of several statements without parameters (for installing SQL files). */
  exec(sql: string): Promise<void>;
}

export interface Notification {
  channel: string;
  payload: string;
}

/** What a wake-up listener is told when it must look whatever was written (after an outage, at start). */
export const ANY_CHANGE = '*';

/** A connection of its own (see `Database.session`). */
export interface Session extends Queryable {
  close(): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /**
   * Runs `work` inside one transaction on one session. Commits when `work`
   * resolves, rolls back when it throws. No other caller's statements run in
   * the same transaction.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Holds a session-scoped advisory lock on (`key1`, `key2`) if it is free.
   * The lock is released by `release()` or when the session dies, so a crashed
   * holder's lock is freed by the server itself.
   */
  tryClaim(key1: number, key2: number): Promise<Claim | null>;
  /** How many claims under `key1` are held now, by anyone. */
  countClaims(key1: number): Promise<number>;
  /**
   * A connection of its own for one long-lived reader, named `applicationName` in
   * pg_stat_activity; after a lost connection the next query reconnects. Closed with the
   * database. PGlite has one session, so there it is the database itself. On PostgreSQL a query
   * with parameters is prepared once per connection under a name kept per SQL text: give it
   * constant SQL (values as parameters), or every new text stays prepared.
   */
  session(applicationName: string): Session;
  close(): Promise<void>;
}

export interface Claim {
  release(): Promise<void>;
  /** Resolves once the session that holds the claim has been lost. */
  readonly lost: Promise<void>;
}

/**
 * The schemas a handle's sessions look names up in, first to last (`search_path`). Message DB's functions call
 * each other unqualified, so a handle the message store uses needs `message_store` on it; the default.
 */
export const MESSAGE_DB_SEARCH_PATH: readonly string[] = ['message_store', 'public'];

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

/** `search_path`'s value for `schemas`; throws for a name that is not a plain lower-case identifier. */
export function searchPathSetting(schemas: readonly string[]): string {
  if (schemas.length === 0) throw new Error('A search path needs at least one schema');
  for (const schema of schemas)
    if (!SCHEMA_NAME.test(schema)) throw new Error(`"${schema}" is not a plain lower-case schema name`);
  return schemas.join(', ');
}

/** Errors that mean "the database could not be reached", worth retrying. */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    // Connection exceptions (08), admin shutdown / crash (57P0x), too many connections (53300).
    if (code.startsWith('08') || code.startsWith('57P0') || code === '53300') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN'].includes(code)) return true;
  }
  return /Connection terminated|connection.*(closed|ended|lost)|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect/i.test(
    error.message,
  );
}
