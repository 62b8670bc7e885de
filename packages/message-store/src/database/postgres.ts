import pg from 'pg';
import {
  ANY_CHANGE,
  MESSAGE_DB_SEARCH_PATH,
  searchPathSetting,
  type Claim,
  type Database,
  type Queryable,
  type Row,
} from './port.js';
import { createSessions } from './postgres-session.js';

export interface PostgresOptions {
  connectionString: string;
  /** Pool size; defaults to 10. */
  max?: number;
  /** The schemas every session looks names up in; default `MESSAGE_DB_SEARCH_PATH` (`message_store, public`). */
  searchPath?: readonly string[];
}

const CONNECTION_TIMEOUT_MS = 10_000;
/** How often a claim's session is asked whether it is still there, and how long it may take to answer. */
const CLAIM_HEARTBEAT_MS = 1_000;

/** The PostgreSQL adapter: a `pg` pool whose every connection uses the handle's search path (Message DB's by default). */
export function createPostgresDatabase(options: PostgresOptions): Database {
  // A database that does not answer fails a connection attempt in time (retried, or 503 on the web) instead of
  // leaving callers waiting with no end.
  const clientConfig = {
    connectionString: options.connectionString,
    // Set at connection start-up, so it holds for every statement of every connection, LISTEN and claims included.
    options: `-c search_path=${searchPathSetting(options.searchPath ?? MESSAGE_DB_SEARCH_PATH).replaceAll(' ', '')}`,
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
  };
  const pool = new pg.Pool({ ...clientConfig, max: options.max ?? 10 });
  // An idle client that loses its connection must not crash the process; the pool drops it.
  pool.on('error', () => {});
  // Every client of the pool, idle, checked out or between the two, keeps a listener of its own: a connection lost
  // at any moment fails the statement in flight (a transient error its caller retries), never the process.
  pool.on('connect', (client) => client.on('error', () => {}));

  const listener = createListener(clientConfig);
  const sessions = createSessions(clientConfig);

  const run = async <R extends Row>(client: pg.Pool | pg.PoolClient, sql: string, params?: readonly unknown[]) =>
    (await client.query<R>(sql, params as unknown[] | undefined)).rows;

  return {
    kind: 'postgres',
    query: (sql, params) => run(pool, sql, params),
    exec: async (sql) => {
      await pool.query(sql);
    },
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no listener of the pool's: a connection lost while it is busy or between
      // statements would emit an unhandled 'error' and end the process. The statement in flight (or the next
      // one) fails instead, with a transient error its caller retries; the client is discarded on release.
      const onLost = (error: Error) => {
        broken ??= error;
      };
      client.on('error', onLost);
      const tx: Queryable = {
        query: (sql, params) => run(client, sql, params),
        exec: async (sql) => {
          await client.query(sql);
        },
      };
      try {
        await client.query('BEGIN');
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.removeListener('error', onLost);
        client.release(broken);
      }
    },
    listen: (channel, onNotification) => listener.listen(channel, onNotification),
    async tryClaim(key1, key2) {
      // A dedicated connection: session advisory locks live as long as it does.
      const client = new pg.Client({ ...clientConfig, keepAlive: true });
      let markLost: () => void = () => {};
      const lost = new Promise<void>((resolve) => (markLost = resolve));
      client.on('error', () => markLost());
      client.on('end', () => markLost());
      await client.connect();
      try {
        const [row] = (
          await client.query<{ claimed: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS claimed', [key1, key2])
        ).rows;
        if (!row?.claimed) {
          await client.end();
          return null;
        }
      } catch (error) {
        await client.end().catch(() => {});
        throw error;
      }
      // A session that stops answering (a network that went away) counts as lost before the server frees the
      // lock, so that its holder stops first.
      let beating = false;
      const heartbeat = setInterval(() => {
        if (beating) return;
        beating = true;
        const timeout = new Promise((_, reject) =>
          setTimeout(reject, CLAIM_HEARTBEAT_MS, new Error('no answer')).unref(),
        );
        Promise.race([client.query('SELECT 1'), timeout])
          .catch(() => {
            markLost();
            void client.end().catch(() => {});
          })
          .finally(() => (beating = false));
      }, CLAIM_HEARTBEAT_MS);
      heartbeat.unref();
      void lost.then(() => clearInterval(heartbeat));
      const claim: Claim = {
        lost,
        async release() {
          await client.end().catch(() => {});
        },
      };
      return claim;
    },
    async countClaims(key1) {
      // Two-key advisory locks show up in pg_locks with classid = key1 (as an unsigned oid), objsubid = 2.
      const [row] = await run<{ count: string }>(
        pool,
        `SELECT count(*) AS count FROM pg_locks
          WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid = ($1::bigint & 4294967295)::text::oid
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
        [key1],
      );
      return Number(row?.count ?? 0);
    },
    session: (applicationName) => sessions.session(applicationName),
    async close() {
      await sessions.close();
      await listener.close();
      await pool.end();
    },
  };
}

/**
 * One LISTEN connection shared by all listeners of a database. When it drops it
 * reconnects with backoff and re-subscribes; consumers poll in the meantime.
 */
function createListener(clientConfig: pg.ClientConfig) {
  const handlers = new Map<string, Set<(payload: string) => void>>();
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let hasConnectedBefore = false;

  const connect = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    if (connecting) return connecting;
    connecting = (async () => {
      const next = new pg.Client(clientConfig);
      next.on('notification', (message) => {
        for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
      });
      const onLost = () => {
        if (client !== next) return;
        client = undefined;
        next.end().catch(() => {});
        scheduleReconnect(250);
      };
      next.on('error', onLost);
      next.on('end', onLost);
      await next.connect();
      for (const channel of handlers.keys()) await next.query(`LISTEN ${quoteIdentifier(channel)}`);
      client = next;
      // Whatever was notified while no one listened is lost: tell every listener to look.
      if (hasConnectedBefore) for (const set of handlers.values()) for (const handler of set) handler(ANY_CHANGE);
      hasConnectedBefore = true;
      return next;
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const scheduleReconnect = (delayMs: number) => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      if (closed || handlers.size === 0) return;
      connect().catch(() => scheduleReconnect(Math.min(delayMs * 2, 5_000)));
    }, delayMs);
    retryTimer.unref();
  };

  return {
    async listen(channel: string, onNotification: (payload: string) => void) {
      let set = handlers.get(channel);
      const isNewChannel = !set;
      if (!set) handlers.set(channel, (set = new Set()));
      set.add(onNotification);
      try {
        const listening = await connect();
        if (isNewChannel) await listening.query(`LISTEN ${quoteIdentifier(channel)}`);
      } catch {
        // Not reachable now: the reconnect loop subscribes when it can; callers poll meanwhile.
        scheduleReconnect(250);
      }
      return async () => {
        set.delete(onNotification);
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
