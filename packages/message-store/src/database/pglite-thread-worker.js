/**
 * The thread that owns a PGlite instance for `createPgliteWorkerDatabase`
 * (pglite-thread.ts). Plain JavaScript, so it loads in any runner (node, tsx,
 * vitest) without a TypeScript loader.
 *
 * Requests, one message each: { id, op, ... }; every one gets exactly one
 * answer { id, ok: true, value } or { id, ok: false, error }.
 */
import { inspect } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, messages } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
// searchPath: a checked `search_path` value (searchPathSetting in port.ts).
// loadDataDir: a Blob from dumpDataDir() to start a new database from, or undefined.
const { dataDir, loadDataDir, analyzeIntervalMs, searchPath } = workerData;

/** An error as plain data: structured cloning would keep only name, message and stack. */
function serializeError(error) {
  if (!(error instanceof Error)) {
    // Emscripten's file system throws plain objects, e.g. ErrnoError { errno: 54 } for a data directory that is a file.
    const name = typeof error?.name === 'string' ? error.name : 'Error';
    const message = typeof error?.message === 'string' ? error.message : inspect(error);
    return {
      name,
      message,
      isDatabaseError: false,
      fields: typeof error === 'object' ? structuredClone({ ...error }) : {},
    };
  }
  const fields = {};
  for (const [key, value] of Object.entries(error)) {
    try {
      fields[key] = structuredClone(value);
    } catch {
      // Not cloneable: left out.
    }
  }
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    isDatabaseError: error instanceof messages.DatabaseError,
    fields,
  };
}

const answer = (id, value) => port.postMessage({ id, ok: true, value });
const fail = (id, error) => port.postMessage({ id, ok: false, error: serializeError(error) });

let pglite;
try {
  pglite = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    ...(loadDataDir ? { loadDataDir } : {}),
    extensions: { pgcrypto },
  });
  await pglite.exec(`SET search_path = ${searchPath}`);
} catch (error) {
  await pglite?.close().catch(() => {});
  pglite = undefined;
  // The main thread terminates this thread when it reads this.
  port.postMessage({ ready: false, error: serializeError(error) });
}
if (pglite) await serve(pglite);

/** Answers requests until closed. */
async function serve(pglite) {
  // PGlite runs no autovacuum, so no table would get planner statistics: without them
  // get_category_messages sorts everything after the position, and catch-up turns quadratic.
  // Analyze now and then, as autovacuum would.
  const analyze = () => pglite.exec('ANALYZE').catch(() => {});
  await analyze();
  const analyzer = setInterval(() => void analyze(), analyzeIntervalMs);

  /** Open transactions by id: their PGlite transaction and how to end it. */
  const transactions = new Map();
  const ROLLBACK = Symbol('rollback');

  const target = (request) => {
    if (request.transaction === undefined) return pglite;
    const open = transactions.get(request.transaction);
    if (!open) throw new Error(`Transaction ${request.transaction} is not open`);
    return open.tx;
  };

  function begin(request) {
    let opened = false;
    pglite
      .transaction(
        (tx) =>
          new Promise((resolve, reject) => {
            opened = true;
            transactions.set(request.id, { tx, resolve, reject, endedBy: undefined });
            answer(request.id, request.id);
          }),
      )
      .then(
        () => {
          const { endedBy } = transactions.get(request.id);
          transactions.delete(request.id);
          answer(endedBy, null);
        },
        (error) => {
          if (!opened) return fail(request.id, error);
          const { endedBy } = transactions.get(request.id);
          transactions.delete(request.id);
          if (error === ROLLBACK) answer(endedBy, null);
          else fail(endedBy, error);
        },
      );
  }

  function end(request, commit) {
    const open = transactions.get(request.transaction);
    if (!open || open.endedBy !== undefined) throw new Error(`Transaction ${request.transaction} is not open`);
    open.endedBy = request.id;
    if (commit) open.resolve();
    else open.reject(ROLLBACK);
  }

  async function handle(request) {
    switch (request.op) {
      case 'query':
        return (await target(request).query(request.sql, request.params)).rows;
      case 'exec':
        await target(request).exec(request.sql);
        return null;
      case 'close':
        clearInterval(analyzer);
        if (!pglite.closed) await pglite.close();
        return null;
      default:
        throw new Error(`Unknown request ${String(request.op)}`);
    }
  }

  port.on('message', (request) => {
    try {
      if (request.op === 'begin') return begin(request);
      if (request.op === 'commit' || request.op === 'rollback') return end(request, request.op === 'commit');
    } catch (error) {
      return fail(request.id, error);
    }
    handle(request).then(
      (value) => answer(request.id, value),
      (error) => fail(request.id, error),
    );
  });

  port.postMessage({ ready: true });
}
