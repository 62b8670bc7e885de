import { Worker } from 'node:worker_threads';
import { messages } from '@electric-sql/pglite';
import type { PgliteOptions } from './pglite.js';
import {
  MESSAGE_DB_SEARCH_PATH,
  searchPathSetting,
  type Claim,
  type Database,
  type Queryable,
  type Row,
} from './port.js';

/** The embedded adapter with PGlite on a thread of its own. */
export interface PgliteThreadDatabase extends Database {
  /** The thread that runs PGlite (for its `threadId` or `performance.eventLoopUtilization()`). */
  readonly worker: Worker;
}

/** The PGlite thread is gone (it crashed, or was stopped): the embedded database cannot answer. */
export class PgliteThreadStoppedError extends Error {
  override readonly name = 'PgliteThreadStoppedError';
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  isDatabaseError: boolean;
  fields: Record<string, unknown>;
}

type FromThread =
  | { ready: true }
  | { ready: false; error: SerializedError }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: SerializedError };

type Request =
  | { op: 'query'; sql: string; params: readonly unknown[] | undefined; transaction?: number }
  | { op: 'exec'; sql: string; transaction?: number }
  | { op: 'begin' }
  | { op: 'commit' | 'rollback'; transaction: number }
  | { op: 'close' };

const WORKER_URL = new URL('./pglite-thread-worker.js', import.meta.url);

/**
 * The embedded adapter on a worker thread: PGlite runs PostgreSQL's WASM
 * synchronously, so in the caller's thread every statement would stop its
 * event loop for as long as it runs. Here the thread owns the PGlite
 * instance and this side sends it statements; rows come back as PGlite makes
 * them (bigint, Date, parsed JSON), errors as PGlite's `DatabaseError` with
 * its `code`, `detail` and the rest.
 *
 * Transactions behave as in `createPgliteDatabase`: the thread opens a PGlite
 * transaction and runs in it only the statements sent through its `tx`; every
 * other statement waits until it commits or rolls back. If the thread dies,
 * every waiting and later call fails with `PgliteThreadStoppedError` and
 * claims are lost. An idle instance does not keep the process alive; `close()`
 * ends the thread.
 */
export async function createPgliteThreadDatabase(options: PgliteOptions = {}): Promise<PgliteThreadDatabase> {
  const searchPath = searchPathSetting(options.searchPath ?? MESSAGE_DB_SEARCH_PATH);
  const worker = new Worker(WORKER_URL, {
    // Plain JavaScript: it needs none of this process's loaders or flags (some, like --input-type, fail in a worker).
    execArgv: [],
    // A Blob crosses to the thread without a copy: its bytes are shared.
    workerData: {
      dataDir: options.dataDir,
      loadDataDir: options.loadDataDir,
      analyzeIntervalMs: options.analyzeIntervalMs ?? 5 * 60_000,
      searchPath,
    },
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  const claimed = new Set<string>();
  const claimsLost = new Set<() => void>();
  let nextId = 1;
  let stopped: Error | undefined;
  let lastError: Error | undefined;
  let markReady: (error?: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = (error) => (error ? reject(error) : resolve());
  });

  // Idle, the thread must not keep the process alive (an in-process PGlite does not);
  // while a caller awaits an answer it must, or the process could exit under it.
  const idle = () => {
    if (pending.size === 0) worker.unref();
  };

  const stop = (error: Error) => {
    stopped ??= error;
    markReady(stopped);
    for (const { reject } of pending.values()) reject(stopped);
    pending.clear();
    for (const lose of claimsLost) lose();
    claimsLost.clear();
  };

  worker.on('message', (message: FromThread) => {
    if ('ready' in message) {
      if (message.ready) {
        markReady();
        idle();
      } else {
        const error = errorFrom(message.error);
        error.message = `PGlite could not start${options.dataDir ? ` in ${options.dataDir}` : ''}: ${error.message}`;
        stop(error);
        void worker.terminate();
      }
    } else {
      const waiting = pending.get(message.id);
      pending.delete(message.id);
      idle();
      if (message.ok) waiting?.resolve(message.value);
      else waiting?.reject(errorFrom(message.error));
    }
  });
  worker.on('error', (error) => {
    lastError = error;
  });
  worker.on('messageerror', (error) => {
    lastError = error;
  });
  worker.on('exit', (code) => {
    stop(
      new PgliteThreadStoppedError(
        `The PGlite thread stopped (exit code ${code})${lastError ? `: ${lastError.message}` : ''}; ` +
          'the embedded database cannot answer',
      ),
    );
  });

  const call = (request: Request) =>
    new Promise<unknown>((resolve, reject) => {
      if (stopped) return reject(stopped);
      const id = nextId++;
      // Throws at once for parameters that cannot be cloned (functions, symbols).
      worker.postMessage({ ...request, id });
      pending.set(id, { resolve, reject });
      worker.ref();
    });

  await ready;

  const queryable = (transaction?: number): Queryable => ({
    query: async <R extends Row>(sql: string, params?: readonly unknown[]) =>
      (await call({ op: 'query', sql, params, ...(transaction === undefined ? {} : { transaction }) })) as R[],
    exec: async (sql) => {
      await call({ op: 'exec', sql, ...(transaction === undefined ? {} : { transaction }) });
    },
  });

  let closing: Promise<void> | undefined;

  return {
    kind: 'pglite',
    worker,
    ...queryable(),
    async transaction(work) {
      const transaction = (await call({ op: 'begin' })) as number;
      let result;
      try {
        result = await work(queryable(transaction));
      } catch (error) {
        await call({ op: 'rollback', transaction }).catch(() => {});
        throw error;
      }
      await call({ op: 'commit', transaction });
      return result;
    },
    // One session means advisory locks cannot tell holders apart: claims are kept here.
    async tryClaim(key1, key2) {
      if (stopped) throw stopped;
      const key = `${key1}:${key2}`;
      if (claimed.has(key)) return null;
      claimed.add(key);
      let lose: () => void = () => {};
      const lost = new Promise<void>((resolve) => (lose = resolve));
      claimsLost.add(lose);
      const claim: Claim = {
        lost,
        async release() {
          claimed.delete(key);
          claimsLost.delete(lose);
        },
      };
      return claim;
    },
    // One session: a session of its own is the database itself.
    session: () => ({ ...queryable(), async close() {} }),
    async countClaims(key1) {
      return [...claimed].filter((key) => key.startsWith(`${key1}:`)).length;
    },
    close() {
      closing ??= (async () => {
        await call({ op: 'close' }).catch(() => {});
        stopped ??= new Error('PGlite is closed');
        // Closed on purpose: claims end with the database, as in-process.
        claimsLost.clear();
        await worker.terminate();
      })();
      return closing;
    },
  };
}

/** The error the thread reported, rebuilt as the class PGlite throws in-process. */
function errorFrom(serialized: SerializedError): Error {
  const { fields } = serialized;
  const error = serialized.isDatabaseError
    ? new messages.DatabaseError(
        serialized.message,
        Number(fields.length ?? 0),
        (fields.name ?? 'error') as ConstructorParameters<typeof messages.DatabaseError>[2],
      )
    : new Error(serialized.message);
  Object.assign(error, fields);
  if (!serialized.isDatabaseError && serialized.name !== 'Error') Object.assign(error, { name: serialized.name });
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}
