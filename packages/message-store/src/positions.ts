import { v5 as uuidV5 } from 'uuid';
import type { Database, Queryable } from './database/port.js';
import type { StoredMessage } from './message.js';
import { databaseOf, DEFAULT_BATCH_SIZE, type MessageStore } from './store.js';
import { category as categoryOf } from './stream-name.js';

/** Whose position: a subscriber, or one member of its consumer group. */
export interface PositionOwner {
  subscriberId: string;
  member?: { member: number; size: number } | undefined;
}

/**
 * Where a subscription keeps its position (the global position of the last message it read past).
 * Batch mode applies each batch in one transaction of `db` that also records the position, so a
 * consumer whose own data lives in `db` updates that data and its position together, whichever
 * database the message store is in.
 */
export interface PositionStore {
  /** The database positions are kept in. */
  readonly db: Database;
  /** True when recording a position writes a message into the message store (and so into `$all`). */
  readonly writesMessages: boolean;
  /** The recorded position, 0 when there is none. */
  read(owner: PositionOwner): Promise<number>;
  /** The recorded position, null when none was ever recorded. */
  recorded(owner: PositionOwner): Promise<number | null>;
  /** Records `position`, in `tx` (a transaction of `db`) when given. */
  write(owner: PositionOwner, position: number, tx?: Queryable): Promise<void>;
  /** Where the position of `owner` is kept, for people: a stream name or `table/key`. */
  describe(owner: PositionOwner): string;
}

const POSITION_NAMESPACE = '0e2d8f4c-7a43-4c55-9a63-3f0b6a1c2d7e';
const POSITION_CATEGORY = 'subscriberPosition';

/** `identity`, or `identity+1of3` for member 1 of a group of 3: the key of a position. */
export function positionKey({ subscriberId, member }: PositionOwner): string {
  return member ? `${subscriberId}+${member.member}of${member.size}` : subscriberId;
}

export function positionStreamName(subscriberId: string, member?: { member: number; size: number }): string {
  return `${POSITION_CATEGORY}-${positionKey({ subscriberId, member })}`;
}

/** A `Read` record of some consumer's position. */
export function isPositionRecord(message: StoredMessage): boolean {
  return categoryOf(message.streamName) === POSITION_CATEGORY;
}

/**
 * Positions the Message DB way (the default): `Read { position }` messages in
 * `subscriberPosition-{subscriberId}` (`…+{member}of{size}` for group members).
 */
export function messageStorePositions(store: MessageStore): PositionStore {
  return {
    db: databaseOf(store),
    writesMessages: true,
    async read(owner) {
      return lastRecordedPosition(store, positionStreamName(owner.subscriberId, owner.member));
    },
    async recorded(owner) {
      const streamName = positionStreamName(owner.subscriberId, owner.member);
      return (await store.readLastMessage(streamName)) ? lastRecordedPosition(store, streamName) : null;
    },
    async write(owner, position, tx) {
      const streamName = positionStreamName(owner.subscriberId, owner.member);
      const message = { id: uuidV5(`${streamName}|${position}`, POSITION_NAMESPACE), type: 'Read', data: { position } };
      if (tx) await store.writeInTransaction(tx, streamName, message);
      else await store.write(streamName, message);
    },
    describe: (owner) => positionStreamName(owner.subscriberId, owner.member),
  };
}

export interface TablePositionStore extends PositionStore {
  readonly table: string;
  /** Creates the table if it is missing (or let a migration create it: see `positionTableSql`). */
  ensure(): Promise<void>;
}

const TABLE_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;

/** The table `tablePositions` expects: one row per consumer, keyed by `positionKey`. */
export function positionTableSql(table: string): string {
  assertTableName(table);
  return `CREATE TABLE IF NOT EXISTS ${table} (
    subscriber_id text PRIMARY KEY,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`;
}

/**
 * Positions in a table of `db` (default `consumer_positions`), for consumers whose data lives in `db`:
 * each batch and its position commit together, an empty database starts from 0, and a restored backup
 * resumes from the position it holds. Recording a position writes nothing into the message store.
 */
export function tablePositions(
  db: Database,
  { table = 'consumer_positions' }: { table?: string } = {},
): TablePositionStore {
  assertTableName(table);
  const recorded = async (owner: PositionOwner) => {
    const [row] = await db.query<{ position: string | number }>(
      `SELECT position FROM ${table} WHERE subscriber_id = $1`,
      [positionKey(owner)],
    );
    return row ? Number(row.position) : null;
  };
  return {
    db,
    table,
    writesMessages: false,
    async ensure() {
      await db.exec(positionTableSql(table));
    },
    async read(owner) {
      return (await recorded(owner)) ?? 0;
    },
    recorded,
    async write(owner, position, tx) {
      await (tx ?? db).query(
        `INSERT INTO ${table} AS p (subscriber_id, position, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (subscriber_id) DO UPDATE SET position = EXCLUDED.position, updated_at = EXCLUDED.updated_at`,
        [positionKey(owner), position],
      );
    },
    describe: (owner) => `${table}/${positionKey(owner)}`,
  };
}

function assertTableName(table: string) {
  if (!TABLE_NAME.test(table)) throw new Error(`"${table}" is not a plain lower-case table name`);
}

/** The global position a consumer's `Read` record holds, or null when it holds none. */
export function recordedPosition(record: StoredMessage): number | null {
  if (record.type !== 'Read') return null;
  const { position } = record.data;
  const value = typeof position === 'string' && /^\d+$/.test(position) ? Number(position) : position;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/**
 * The position last recorded in a consumer's position stream (0 when none). Anyone can write to that
 * stream: when its last message holds no position, the stream is read from the start for the last one
 * that does, so a stray record neither stops the consumer nor sends it back to the beginning.
 */
export async function lastRecordedPosition(store: MessageStore, positionStream: string): Promise<number> {
  const last = await store.readLastMessage(positionStream);
  if (!last) return 0;
  const position = recordedPosition(last);
  if (position !== null) return position;
  let found = 0;
  for (let from = 0; ;) {
    const records = await store.read(positionStream, { from: from, max: DEFAULT_BATCH_SIZE });
    for (const record of records) found = recordedPosition(record) ?? found;
    const next = records.at(-1);
    if (!next || records.length < DEFAULT_BATCH_SIZE) return found;
    from = next.position + 1;
  }
}
