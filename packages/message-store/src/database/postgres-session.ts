import pg from 'pg';
import type { Queryable, Row, Session } from './port.js';

/**
 * Connections of their own, for long-lived readers that must not wait for a pool slot (the
 * wake-up watcher). Each one connects on first use and again on the next query after it was lost.
 */
export function createSessions(clientConfig: pg.ClientConfig) {
  const open = new Set<Session>();

  const session = (applicationName: string): Session => {
    let client: pg.Client | undefined;
    let connecting: Promise<pg.Client> | undefined;
    let closed = false;

    const connect = (): Promise<pg.Client> => {
      if (client) return Promise.resolve(client);
      connecting ??= (async () => {
        const next = new pg.Client({ ...clientConfig, application_name: applicationName });
        const onLost = () => {
          if (client === next) client = undefined;
          next.end().catch(() => {});
        };
        next.on('error', onLost);
        next.on('end', onLost);
        try {
          await next.connect();
        } catch (error) {
          next.end().catch(() => {});
          throw error;
        }
        if (closed) {
          await next.end().catch(() => {});
          throw new Error('Connection terminated: session closed');
        }
        client = next;
        return next;
      })().finally(() => {
        connecting = undefined;
      });
      return connecting;
    };

    const run = async <R extends Row>(sql: string, params?: readonly unknown[]) => {
      if (closed) throw new Error('Connection terminated: session closed');
      const current = await connect();
      // Named, so a long-lived reader's statement (the watcher's look, many a second) is parsed and planned once per connection.
      if (params === undefined) return (await current.query<R>(sql)).rows; // may hold several statements
      return (await current.query<R>({ name: statementName(sql), text: sql, values: params as unknown[] })).rows;
    };

    const handle: Session & Queryable = {
      query: run,
      exec: async (sql) => {
        await run(sql);
      },
      async close() {
        closed = true;
        open.delete(handle);
        const current = client ?? (await connecting?.catch(() => undefined));
        client = undefined;
        await current?.end().catch(() => {});
      },
    };
    open.add(handle);
    return handle;
  };

  return {
    session,
    async close() {
      await Promise.all([...open].map((each) => each.close()));
    },
  };
}

const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) statementNames.set(sql, (name = `session_statement_${statementNames.size + 1}`));
  return name;
}
