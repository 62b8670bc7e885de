import {
  createSubscription,
  tablePositions,
  type Database,
  type Logger,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';
import { NUMBERS_CATEGORY, NumberWritten } from './numbers.js';

/** The example's tables live in a schema of their own, out of Message DB's `message_store`. */
export const SCHEMA = 'hello_world';
/** Each service's stored position: one row per subscriber id. */
export const POSITIONS_TABLE = `${SCHEMA}.positions`;

/** A service that folds every number of the log into one running value. */
export interface RunningTotal {
  /** As served over HTTP: `/sum`, `/product`. */
  name: 'sum' | 'product';
  subscriberId: string;
  /** Its own table: one row holding its value. */
  table: string;
  initial: bigint;
  /** The value after one more number. */
  next(value: bigint, number: bigint): bigint;
}

export const sum: RunningTotal = {
  name: 'sum',
  subscriberId: 'helloWorld:sum',
  table: `${SCHEMA}.sum`,
  initial: 0n,
  next: (total, number) => total + number,
};

/**
 * The product is kept modulo this prime: the exact product grows by a few digits with every number and
 * soon fills the page, while its remainder stays below ten digits, is still exact, and becomes 0 only if
 * a factor is a multiple of the prime (none is: numbers stop at LARGEST_NUMBER).
 */
export const PRODUCT_MODULUS = 1_000_000_007n;

export const product: RunningTotal = {
  name: 'product',
  subscriberId: 'helloWorld:product',
  table: `${SCHEMA}.product`,
  initial: 1n,
  next: (total, number) => (total * number) % PRODUCT_MODULUS,
};

export const positions = (db: Database) => tablePositions(db, { table: POSITIONS_TABLE });

/** Creates the schema, the positions table and each service's table with its starting value (idempotent). */
export async function ensureTables(db: Database, totals: readonly RunningTotal[] = [sum, product]) {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await positions(db).ensure();
  for (const total of totals) {
    // One row: the value, and the global position of the last number in it (so a replay adds nothing).
    await db.exec(`CREATE TABLE IF NOT EXISTS ${total.table} (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      value numeric NOT NULL,
      last_global_position bigint NOT NULL
    )`);
    await db.query(
      `INSERT INTO ${total.table} (value, last_global_position) VALUES ($1::numeric, 0) ON CONFLICT DO NOTHING`,
      [total.initial.toString()],
    );
  }
}

/**
 * Applies a batch of the log to the service's row, in the transaction `tx` that also records its position:
 * value and position commit together or not at all. Numbers already in the value are passed over, so a
 * batch handled twice changes nothing the second time.
 */
export function applyNumbers(total: RunningTotal) {
  return async (messages: StoredMessage[], tx: Queryable) => {
    const [row] = await tx.query<{ value: string; last: string | number }>(
      `SELECT value::text AS value, last_global_position AS last FROM ${total.table} FOR UPDATE`,
    );
    if (!row) throw new Error(`${total.table} has no row: run ensureTables first`);
    const applied = Number(row.last);
    let value = BigInt(row.value);
    let last: number | null = null;
    for (const message of messages) {
      if (message.globalPosition <= applied || !NumberWritten.is(message)) continue;
      // Anyone can write to the log: an invalid number throws here and is parked, never counted.
      const { number } = NumberWritten.parse(message).data;
      value = total.next(value, BigInt(number));
      last = message.globalPosition;
    }
    if (last === null) return;
    await tx.query(`UPDATE ${total.table} SET value = $1::numeric, last_global_position = $2`, [
      value.toString(),
      last,
    ]);
  };
}

export interface ServiceState {
  service: RunningTotal['name'];
  /** A decimal string: the sum outgrows JavaScript's safe integers long before PostgreSQL's numeric. */
  value: string;
  /** The stored position: the global position of the last message of the log it has read past. */
  position: number;
  running: boolean;
}

/** One running total as a service: its subscription to the log, started and stopped as a whole. */
export function runningTotalService(
  total: RunningTotal,
  { store, db, logger }: { store: MessageStore; db: Database; logger?: Logger },
) {
  const subscription = createSubscription({
    store,
    streamName: NUMBERS_CATEGORY,
    subscriberId: total.subscriberId,
    handleBatch: applyNumbers(total),
    positions: positions(db),
    ...(logger ? { logger } : {}),
  });
  let running = false;
  return {
    total,
    async start() {
      await subscription.start();
      running = true;
    },
    /** Finishes the batch in hand and records the position. */
    async stop() {
      if (!running) return;
      running = false;
      await subscription.stop();
    },
    waitUntilCaughtUp: (options?: { timeoutMs?: number }) => subscription.waitUntilCaughtUp(options),
    async state(): Promise<ServiceState> {
      const [row] = await db.query<{ value: string }>(`SELECT value::text AS value FROM ${total.table}`);
      const position = await positions(db).read({ subscriberId: total.subscriberId });
      return { service: total.name, value: row?.value ?? total.initial.toString(), position, running };
    },
    parkingLot: subscription.parkingLot,
  };
}

export type RunningTotalService = ReturnType<typeof runningTotalService>;
