/**
 * `rebuild <aggregator>`: replays one aggregator's View Data from position 0
 * into new tables and swaps them in, without downtime.
 *
 * 1. Create the aggregator's tables in a schema of their own,
 *    `rebuild_<aggregator>_<time>`, as `LIKE <live table> INCLUDING ALL`
 *    (indexes renamed to the live ones' names, grants copied, seed rows
 *    inserted as the migration did).
 * 2. Replay the aggregator's category in batches, each in a transaction whose
 *    search_path puts the new schema first: the aggregator's own `apply`, with
 *    its unqualified SQL, writes into the new tables. The live tables keep
 *    serving, and the running aggregator keeps updating them.
 * 3. Caught up, in one short transaction: lock the live tables, apply what
 *    arrived since, check the live and new tables still have the same shape (no
 *    migration ran meanwhile), move the live tables out to
 *    `replaced_<aggregator>_<time>` and the new ones into the live tables'
 *    schema, and record the aggregator's position in View Data's
 *    `consumer_positions`, in that same transaction: the position travels
 *    with the tables it describes, wherever the message store is. Readers
 *    wait for that transaction only; statements that were waiting then find
 *    the new tables by name.
 * 4. Drop the replaced tables (kept with `keepOld`).
 *
 * A running aggregator carries on from its own in-memory position, into the
 * new tables: every apply is idempotent, so whatever it applies again changes
 * nothing. Works on PostgreSQL and on PGlite (one process).
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ALL_STREAMS,
  readAllInCommitOrder,
  sharesDatabase,
  storeBrowser,
  type Database,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';
import { viewDataPositions } from '../aggregators/aggregator.js';
import {
  assertSameShape,
  createNewTables,
  dropAbandonedSchemas,
  dropReplacedTables,
  findLiveTables,
  lockLiveTables,
  swapIn,
  useNewTablesIn,
} from '../view-data/schema-swap.js';
import {
  findRebuildableAggregator,
  REBUILDABLE_AGGREGATORS,
  type RebuildableAggregator,
} from './rebuildable-aggregators.js';

export interface RebuildProgress {
  aggregator: string;
  /** `replaying` between batches (the live tables are untouched); `swapping` just before the swap. */
  phase: 'replaying' | 'swapping';
  /** Messages replayed so far. */
  messages: number;
  /** Messages in the category (grows if more arrive while replaying). */
  total: number;
  /** The global position replayed up to. */
  position: number;
}

export interface RebuildOptions {
  store: MessageStore;
  /** Where the aggregator's View Data lives (the message store's database, or another one). */
  viewData: Database;
  /** Its name (or piece name), or the aggregator itself. */
  aggregator: string | RebuildableAggregator;
  registry?: readonly RebuildableAggregator[];
  /** Keep the replaced tables in `replaced_<aggregator>_<time>` instead of dropping them. */
  keepOld?: boolean;
  /** Messages per read and per transaction; default 1000. */
  batchSize?: number;
  /** Called between batches, outside any transaction: the live tables can be queried from here. */
  onProgress?: (progress: RebuildProgress) => void | Promise<void>;
  /** Stops the replay between batches; the new tables are dropped and the live ones stay. */
  signal?: AbortSignal;
  /** How long the swap waits for the live tables' lock before giving way to readers and trying again. */
  lockTimeoutMs?: number;
  /** Attempts at the swap before giving up (the live tables are busy, or a migration changed them). */
  swapAttempts?: number;
}

export interface RebuildResult {
  aggregator: string;
  tables: string[];
  /** Messages replayed (all of the category, whether the aggregator uses them or not). */
  messages: number;
  /** The global position recorded for the aggregator's subscription. */
  position: number;
  /** Where: `consumer_positions/<subscriber id>` in View Data. */
  positionRecordedIn: string;
  /** Where the replaced tables are kept, or null when they were dropped. */
  keptIn: string | null;
  /** Set when the replaced tables should have been dropped but could not be (e.g. a view depends on one). */
  dropFailure: string | null;
  durationMs: number;
  /** How long the swap held the live tables: what readers may have waited. */
  swapMs: number;
}

export class RebuildInProgressError extends Error {
  override name = 'RebuildInProgressError';
}

/** Advisory-lock namespace of rebuilds: one rebuild per aggregator at a time. */
const REBUILD_CLAIM_KEY = 0x7eb1_1d;
/** The aggregator's key within that namespace (a 32-bit advisory-lock key from its name). */
const rebuildClaimOf = (aggregatorName: string) => createHash('sha256').update(aggregatorName).digest().readInt32BE(0);
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const LOCK_NOT_AVAILABLE = '55P03';
const DEADLOCK_DETECTED = '40P01';

export async function rebuildAggregator(options: RebuildOptions): Promise<RebuildResult> {
  const { store, viewData, keepOld = false, batchSize = 1000, onProgress, signal } = options;
  const lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
  const swapAttempts = options.swapAttempts ?? 5;
  const aggregator =
    typeof options.aggregator === 'string'
      ? findRebuildableAggregator(options.aggregator, options.registry ?? REBUILDABLE_AGGREGATORS)
      : options.aggregator;
  for (const table of aggregator.tables)
    if (!IDENTIFIER.test(table.name))
      throw new Error(`Table name "${table.name}" is not a plain lower-case identifier`);
  const started = Date.now();
  const slug = aggregator.name.replace(/[^a-z0-9]+/g, '_');
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 17);
  const newSchema = `rebuild_${slug}_${stamp}`;
  const oldSchema = `replaced_${slug}_${stamp}`;
  if (oldSchema.length > 63) throw new Error(`The aggregator name "${aggregator.name}" is too long for schema names`);
  const positions = viewDataPositions(viewData);
  const owner = { subscriberId: aggregator.subscriberId };
  const tables = aggregator.tables.map((table) => table.name);

  const claim = await viewData.tryClaim(REBUILD_CLAIM_KEY, rebuildClaimOf(aggregator.name));
  if (!claim) throw new RebuildInProgressError(`A rebuild of ${aggregator.name} is already running`);
  let swapped = false;
  try {
    await dropAbandonedSchemas(viewData, slug);
    const live = await findLiveTables(viewData, aggregator.tables);
    await createNewTables(viewData, newSchema, live);

    const { apply } = aggregator.build({ store, viewData });
    const reader = messageReader(store, viewData, aggregator.streamName);
    let total = await storeBrowser(store).countMessages(aggregator.streamName);
    let position = 0;
    let messages = 0;
    const report = async (phase: RebuildProgress['phase']) => {
      total = Math.max(total, messages);
      await onProgress?.({ aggregator: aggregator.name, phase, messages, total, position });
    };

    /** Applies batches into the new tables until a read comes back short of a batch: near the head. */
    const catchUp = async () => {
      for (;;) {
        signal?.throwIfAborted();
        const { batch, complete } = await viewData.transaction(async (tx) => {
          await useNewTablesIn(tx, newSchema);
          const read = await reader.read(tx, position + 1, batchSize);
          if (read.messages.length > 0) await apply(read.messages, tx);
          return { batch: read.messages, complete: read.complete };
        });
        const last = batch.at(-1);
        if (last) {
          position = last.globalPosition;
          messages += batch.length;
          await report('replaying');
        }
        if (!complete && !last)
          await sleep(20); // $all: a write in progress holds a gap open
        else if (batch.length < batchSize && complete) return;
      }
    };

    await report('replaying');
    await catchUp();
    await viewData.exec(`ANALYZE ${tables.map((table) => `${newSchema}.${table}`).join(', ')}`);

    let swapMs = 0;
    for (let attempt = 1; ; attempt++) {
      await report('swapping');
      try {
        let locked = 0;
        const done = await viewData.transaction(async (tx) => {
          await tx.exec(`SET LOCAL lock_timeout = '${Math.max(1, Math.round(lockTimeoutMs))}ms'`);
          // From here readers of the live tables wait until this transaction ends: keep it short.
          await lockLiveTables(tx, live);
          locked = performance.now();
          for (const table of live) await assertSameShape(tx, table, newSchema);
          await useNewTablesIn(tx, newSchema);
          let at = position;
          let count = messages;
          for (;;) {
            const read = await reader.read(tx, at + 1, batchSize);
            if (!read.complete) throw new NotCaughtUp();
            const last = read.messages.at(-1);
            if (!last) break;
            await apply(read.messages, tx);
            at = last.globalPosition;
            count += read.messages.length;
          }
          await swapIn(tx, live, newSchema, oldSchema);
          await positions.write(owner, at, tx);
          return { at, count };
        });
        swapMs = Math.round(performance.now() - locked);
        position = done.at;
        messages = done.count;
        swapped = true;
        break;
      } catch (error) {
        // Busy live tables or a write in progress: give way, catch up outside the lock, try again.
        // A changed shape (a migration ran) is not retried: the new tables have the old shape.
        const retryable = error instanceof NotCaughtUp || isBusy(error);
        if (!retryable || attempt >= swapAttempts) throw error;
        await sleep(100 * attempt);
        await catchUp();
      }
    }
    await viewData.exec(`DROP SCHEMA IF EXISTS ${newSchema}`);

    let dropFailure: string | null = null;
    if (!keepOld) {
      try {
        await dropReplacedTables(viewData, oldSchema, tables);
      } catch (error) {
        dropFailure = error instanceof Error ? error.message : String(error);
      }
    }
    return {
      aggregator: aggregator.name,
      tables,
      messages,
      position,
      positionRecordedIn: positions.describe(owner),
      keptIn: keepOld || dropFailure ? oldSchema : null,
      dropFailure,
      durationMs: Date.now() - started,
      swapMs,
    };
  } finally {
    if (!swapped) await viewData.exec(`DROP SCHEMA IF EXISTS ${newSchema} CASCADE`).catch(() => {});
    await claim.release();
  }
}

class NotCaughtUp extends Error {
  constructor() {
    super('A write to $all was still in progress at the swap');
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === LOCK_NOT_AVAILABLE || code === DEADLOCK_DETECTED;
}

/** Reads the aggregator's stream inside a transaction of View Data when it shares the message store's database. */
function messageReader(store: MessageStore, viewData: Database, streamName: string) {
  const shared = sharesDatabase(store, viewData);
  if (streamName !== ALL_STREAMS)
    return {
      read: async (tx: Queryable, from: number, size: number) => ({
        messages: shared
          ? await store.readInTransaction(tx, streamName, { from, max: size })
          : await store.read(streamName, { from, max: size }),
        complete: true,
      }),
    };
  // $all in commit order, as its subscription reads it: a gap left by a write in progress is waited for.
  if (!shared) {
    const all = readAllInCommitOrder(store);
    return { read: (_tx: Queryable, from: number, size: number) => all.read(from, size) };
  }
  let target: Queryable = viewData;
  const via: Database = { ...viewData, query: (sql, params) => target.query(sql, params) };
  const all = readAllInCommitOrder(via);
  return {
    async read(tx: Queryable, from: number, size: number): Promise<{ messages: StoredMessage[]; complete: boolean }> {
      target = tx;
      try {
        return await all.read(from, size);
      } finally {
        target = viewData;
      }
    },
  };
}
