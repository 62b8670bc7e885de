import type { Queryable } from 'message-db-toolkit';
import type { Logger } from 'pino';

export type CheckResult = 'ok' | 'failed' | 'timed out';

export interface ReadinessReport {
  ready: boolean;
  /** `starting`/`stopping` until the pieces run and once stopping begins; each database's `SELECT 1`. */
  checks: { system: 'starting' | 'running' | 'stopping' } & Record<string, string>;
}

export interface Readiness {
  check(): Promise<ReadinessReport>;
}

export interface ReadinessOptions {
  /** The databases to ask, by name; the same database under two names is asked once. */
  databases: Record<string, Queryable>;
  state: () => 'starting' | 'running' | 'stopping';
  /** How long a database may take to answer `SELECT 1`. */
  timeoutMs?: number;
  logger?: Logger;
}

/**
 * Ready = the system has started its pieces (and is not stopping) and every database answers
 * `SELECT 1` within the timeout. Failures say which check failed, not why: the reason (which may
 * name hosts) goes to the log.
 */
export function createReadiness({ databases, state, timeoutMs = 2_000, logger }: ReadinessOptions): Readiness {
  return {
    async check() {
      const asked = new Map<Queryable, Promise<CheckResult>>();
      const entries = Object.entries(databases).map(([name, db]) => {
        let result = asked.get(db);
        if (!result) asked.set(db, (result = ping(name, db)));
        return result.then((outcome) => [name, outcome] as const);
      });
      const results = Object.fromEntries(await Promise.all(entries));
      const system = state();
      return {
        ready: system === 'running' && Object.values(results).every((result) => result === 'ok'),
        checks: { system, ...results },
      };
    },
  };

  async function ping(name: string, db: Queryable): Promise<CheckResult> {
    try {
      const answered = await withTimeout(db.query('SELECT 1'), timeoutMs);
      if (answered === TIMED_OUT) {
        logger?.warn({ database: name, timeoutMs }, 'readiness: database did not answer in time');
        return 'timed out';
      }
      return 'ok';
    } catch (error) {
      logger?.warn({ database: name, error: String(error) }, 'readiness: database check failed');
      return 'failed';
    }
  }
}

export const TIMED_OUT = Symbol('timed out');

/** The promise's value, or `TIMED_OUT` if it takes longer than `ms` (the work itself goes on). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
