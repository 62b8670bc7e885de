import { v5 as uuidV5 } from 'uuid';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database, Queryable, Row } from './database/port.js';
import { isTransientDatabaseError } from './database/port.js';
import { DuplicateMessageIdError, isUniqueViolation, versionConflictFrom } from './errors.js';
import { metadataForWrite, type Message, type MessageMetadata, type StoredMessage } from './message.js';
import { ownValue } from './own-key.js';
import { ALL_STREAMS, categoryTypes, category as categoryOf, id as idOf, isCategory } from './stream-name.js';
import { announceWrite } from './write-announcements.js';

export interface WriteResult {
  /** The stream position of the message. */
  position: number;
  /** True when a message with this id was already stored: nothing new was written. */
  alreadyWritten: boolean;
}

export interface CategoryReadOptions {
  /** Only messages whose `correlationStreamName` is in this category (origin filtering). */
  correlation?: string;
  /**
   * With `correlation`: also the messages that have no `correlationStreamName` and whose `originStreamName` is
   * in that category — as writers outside this toolkit store them (the book's code sets only the origin).
   * A message with a correlation is still judged by it alone.
   */
  originWithoutCorrelation?: boolean;
  /** Only this member's share of the category (Message DB's hash of the cardinal id). */
  consumerGroup?: { member: number; size: number };
}

export type Reducer<Entity> = (entity: Entity, event: StoredMessage) => Entity;

/** A projection in the book's shape: `$init` and a reducer per event type. */
export type Projection<Entity> = {
  $init: () => Entity;
  /** Snapshot the entity every `every` events into `{category}:snapshot-{id}`. */
  $snapshot?: SnapshotSettings<Entity>;
  [eventType: string]: Reducer<Entity> | SnapshotSettings<Entity> | undefined;
};

export interface SnapshotSettings<Entity> {
  every: number;
  /** Change it when the projection changes: snapshots of another version are ignored. */
  version: string;
  serialize?: (entity: Entity) => unknown;
  deserialize?: (value: unknown) => Entity;
}

export interface Fetched<Entity> {
  entity: Entity;
  /** The stream's version (last position, -1 when empty): the expected version for the next write. */
  version: number;
}

export const DEFAULT_BATCH_SIZE = 1000;
/**
 * Messages per read when `fetch` loads an entity's stream: most streams come back in one round trip
 * (a full batch costs a second read that finds nothing), and one read's rows stay a few megabytes.
 */
const FETCH_BATCH_SIZE = 10_000;
const SNAPSHOT_NAMESPACE = '5b1f3e0a-8f7c-4d8e-9a51-0c2f6b7d9e11';

export interface MessageRow extends Row {
  id: string;
  stream_name: string;
  type: string;
  position: number | string;
  global_position: number | string;
  data: string | null;
  metadata: string | null;
  time: string;
}

/** The columns of a message row as `toStoredMessage` reads them, each with its expression. */
const MESSAGE_COLUMN_EXPRESSIONS: readonly (readonly [keyof MessageRow & string, string])[] = [
  ['id', 'id::text'],
  ['stream_name', 'stream_name'],
  ['type', 'type'],
  ['position', 'position'],
  ['global_position', 'global_position'],
  ['data', 'data::text'],
  ['metadata', 'metadata::text'],
  ['time', `to_char(time, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`],
];

export const MESSAGE_COLUMNS = MESSAGE_COLUMN_EXPRESSIONS.map(([name, expression]) => `${expression} AS ${name}`).join(
  ', ',
);

/** The message columns but `global_position`, each null unless `condition` holds (the wake-up watcher's rows). */
export function messageColumnsWhen(condition: string): string {
  return MESSAGE_COLUMN_EXPRESSIONS.filter(([name]) => name !== 'global_position')
    .map(([name, expression]) => `CASE WHEN ${condition} THEN ${expression} END AS ${name}`)
    .join(', ');
}

/**
 * A stored row as a message. Anyone can write any JSON through `write_message`, so `data` and `metadata`
 * that are not objects are read as `{}` and the message is marked `malformed` with why: consumers never
 * meet `null.userId`, and every `parse` of the message fails (it is parked, not guessed at). Null
 * metadata (SQL or JSON) is the usual "none" and is not malformed.
 */
export function toStoredMessage(row: MessageRow): StoredMessage {
  const malformed: string[] = [];
  const data = jsonObject(row.data, 'data', malformed);
  const metadata: MessageMetadata = jsonObject(row.metadata, 'metadata', malformed, { nullAllowed: true });
  return {
    id: row.id,
    streamName: row.stream_name,
    type: row.type,
    position: Number(row.position),
    globalPosition: Number(row.global_position),
    data,
    metadata,
    time: new Date(row.time),
    ...(malformed.length > 0 ? { malformed } : {}),
  };
}

function jsonObject(
  text: string | null,
  field: string,
  malformed: string[],
  { nullAllowed = false } = {},
): Record<string, unknown> {
  const value: unknown = text === null ? null : JSON.parse(text);
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  if (value === null && nullAllowed) return {};
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  malformed.push(`${field}: ${kind}, not an object`);
  return {};
}

/** The reducer of `projection` for events of `type`: its own property only, never `$init` or `$snapshot`. */
export function reducerFor<Entity>(projection: Projection<Entity>, type: string): Reducer<Entity> | undefined {
  if (type.startsWith('$')) return undefined;
  const reducer = ownValue(projection, type);
  return typeof reducer === 'function' ? reducer : undefined;
}

/**
 * The book's message-store interface: write, read, fetch through a projection. It does not hand out its database:
 * what else needs the database (consumers, positions, wake-ups) is given the store and reaches it inside the
 * toolkit, so a caller cannot run SQL on Message DB's tables through the store.
 */
export interface MessageStore {
  /**
   * Writes one message. `expectedVersion` -1 means the stream must be empty. Writing a message whose id is already
   * stored in this stream writes nothing and answers `alreadyWritten`.
   */
  write(streamName: string, message: Message, expectedVersion?: number | null): Promise<WriteResult>;
  /**
   * Writes several messages to one stream atomically. The expected version applies to the first. When every message
   * is already stored nothing is written; a batch that is only partly stored is a conflict.
   */
  writeBatch(streamName: string, messages: Message[], expectedVersion?: number | null): Promise<WriteResult>;
  /**
   * Writes inside a caller's transaction (e.g. a position together with the View Data it covers). No duplicate
   * recognition: the transaction fails. Answers the message's stream position.
   */
  writeInTransaction(
    tx: Queryable,
    streamName: string,
    message: Message,
    expectedVersion?: number | null,
  ): Promise<number>;
  /**
   * Reads from an entity stream (`identity-1`, from a stream position), a category (`identity`, from a global
   * position) or `$all` (from a global position).
   */
  read(streamName: string, options?: ReadOptions): Promise<StoredMessage[]>;
  /** Like `read`, inside a caller's transaction of the store's database (e.g. one that also writes View Data). */
  readInTransaction(tx: Queryable, streamName: string, options?: ReadOptions): Promise<StoredMessage[]>;
  /** The stream's last message (of `type`, when given), or null. */
  readLastMessage(streamName: string, type?: string): Promise<StoredMessage | null>;
  /** The stream's version: its last position, or -1 when it has no messages. */
  streamVersion(streamName: string): Promise<number>;
  /** Reads a whole stream, however long, through a projection; starts from the latest snapshot if any. */
  fetch<Entity>(streamName: string, projection: Projection<Entity>): Promise<Fetched<Entity>>;
}

/** What to read: where from, how many, and for a category which of its messages. */
export interface ReadOptions extends CategoryReadOptions {
  /** A stream position for a stream; a global position for a category or `$all`. Default 0. */
  from?: number;
  /** At most this many messages. Default `DEFAULT_BATCH_SIZE`. */
  max?: number;
}

/**
 * The database behind a store this toolkit made, under a key no one outside the toolkit holds. It is an own
 * enumerable property so that a store wrapped by spreading (`{ ...store, read: counted }`, a decorator) keeps it.
 */
const DATABASE = Symbol('message-db-toolkit: the store’s database');
type WithDatabase = MessageStore & { [DATABASE]?: Database };

/**
 * True when `db` is the database `store` was made over: a consumer whose own data lives there can read its messages
 * in the transaction that writes that data.
 */
export function sharesDatabase(store: MessageStore, db: Database): boolean {
  return (store as WithDatabase)[DATABASE] === db;
}

/** The database of a store made by `createMessageStore` (inside the toolkit only: it is not exported). */
export function databaseOf(store: MessageStore): Database {
  const db = (store as WithDatabase)[DATABASE];
  if (!db) throw new TypeError('This message store was not made by createMessageStore: its database is unknown');
  return db;
}

interface QueuedWrite {
  streamName: string;
  message: Message;
  expectedVersion: number | null | undefined;
  resolve: (result: WriteResult) => void;
  reject: (error: unknown) => void;
}

/** The book's message-store interface, typed, over a database port. */
export function createMessageStore({
  db,
  reconnectAttempts = 5,
}: {
  db: Database;
  reconnectAttempts?: number;
}): MessageStore {
  /**
   * Retries work that failed because the connection was lost (a server
   * restart drops every pooled connection). Safe for reads, and for writes
   * because a message id is stored once: a write that did commit before the
   * connection dropped is recognized when repeated.
   */
  async function reconnecting<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (error) {
        if (attempt >= reconnectAttempts || !isTransientDatabaseError(error)) throw error;
        await sleep(50 * 2 ** attempt);
      }
    }
  }

  async function writeOne(target: Queryable, streamName: string, message: Message, expectedVersion?: number | null) {
    const [row] = await target.query<{ position: string | number }>(
      'SELECT message_store.write_message($1, $2, $3, $4::jsonb, $5::jsonb, $6) AS position',
      [
        message.id,
        streamName,
        message.type,
        JSON.stringify(message.data ?? {}),
        jsonOrNull(metadataForWrite(message.metadata)),
        expectedVersion ?? null,
      ],
    );
    return Number(row?.position);
  }

  /** Where a message with this id is stored, if it is. */
  async function findStored(target: Queryable, messageId: string) {
    const [row] = await target.query<{ stream_name: string; position: string | number }>(
      'SELECT stream_name, position FROM message_store.messages WHERE id = $1::uuid',
      [messageId],
    );
    return row ? { streamName: row.stream_name, position: Number(row.position) } : null;
  }

  /** A rejected write of a message that is already stored is the same write done before. */
  async function recognizeRepeat(error: unknown, streamName: string, messageId: string): Promise<WriteResult> {
    const conflict = versionConflictFrom(error);
    if (!conflict && !isUniqueViolation(error)) throw error;
    const stored = await findStored(db, messageId);
    if (!stored) throw conflict ?? error;
    if (stored.streamName !== streamName) throw new DuplicateMessageIdError(messageId, streamName, stored.streamName);
    return { position: stored.position, alreadyWritten: true };
  }

  function write(streamName: string, message: Message, expectedVersion?: number | null): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      const key = categoryOf(streamName);
      const queued: QueuedWrite = { streamName, message, expectedVersion, resolve, reject };
      const waiting = waitingWrites.get(key);
      if (waiting) waiting.push(queued);
      else {
        waitingWrites.set(key, [queued]);
        // After this turn of the event loop: the writes its callbacks make (e.g. the next ones of
        // writers that an earlier statement answered together) go with this one.
        setImmediate(() => void writeWaiting(key));
      }
    });
  }

  /**
   * Writes to one category, one statement at a time. Message DB's write_message holds a lock on the
   * category until commit, so concurrent writes to a category run one after another anyway; writes that
   * arrive in the same turn of the event loop, or while one is in flight, go together in one statement
   * (one commit for all of them).
   */
  const waitingWrites = new Map<string, QueuedWrite[]>();

  async function writeWaiting(key: string) {
    for (;;) {
      const writes = waitingWrites.get(key) ?? [];
      if (writes.length === 0) {
        waitingWrites.delete(key);
        return;
      }
      waitingWrites.set(key, []);
      if (writes.length > 1 && (await writeTogether(writes))) {
        announceWrite(db);
        continue;
      }
      // Alone, or the statement failed (a conflict, a repeated id, a bad message): each write on its own
      // gets its own answer, since the failed statement wrote nothing.
      for (const each of writes)
        await writeAlone(each.streamName, each.message, each.expectedVersion).then(each.resolve, each.reject);
      announceWrite(db);
    }
  }

  /** One statement for writes to several streams; false (nothing written) when any of them fails. */
  async function writeTogether(writes: QueuedWrite[]): Promise<boolean> {
    let rows: { position: string | number }[];
    try {
      rows = await db.query<{ position: string | number }>(
        `SELECT message_store.write_message(m.id, m.stream_name, m.type, m.data, m.metadata, m.expected_version) AS position
           FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::bigint[])
                WITH ORDINALITY AS m(id, stream_name, type, data, metadata, expected_version, n)
          ORDER BY m.n`,
        [
          writes.map(({ message }) => message.id),
          writes.map(({ streamName }) => streamName),
          writes.map(({ message }) => message.type),
          writes.map(({ message }) => JSON.stringify(message.data ?? {})),
          writes.map(({ message }) => jsonOrNull(metadataForWrite(message.metadata))),
          writes.map(({ expectedVersion }) => expectedVersion ?? null),
        ],
      );
    } catch {
      return false;
    }
    writes.forEach((each, index) => each.resolve({ position: Number(rows[index]?.position), alreadyWritten: false }));
    return true;
  }

  function writeAlone(streamName: string, message: Message, expectedVersion?: number | null): Promise<WriteResult> {
    return reconnecting(async () => {
      try {
        return { position: await writeOne(db, streamName, message, expectedVersion), alreadyWritten: false };
      } catch (error) {
        return recognizeRepeat(error, streamName, message.id);
      }
    });
  }

  async function writeBatch(
    streamName: string,
    messages: Message[],
    expectedVersion?: number | null,
  ): Promise<WriteResult> {
    if (messages.length === 0) throw new Error('writeBatch needs at least one message');
    const written = await reconnecting(() => writeBatchOnce(streamName, messages, expectedVersion));
    announceWrite(db);
    return written;
  }

  async function writeBatchOnce(streamName: string, messages: Message[], expectedVersion?: number | null) {
    try {
      // One statement, so one round trip and atomic by itself: write_message once per
      // message, in order, the expected version checked on the first.
      const rows = await db.query<{ position: string | number }>(
        `SELECT message_store.write_message(m.id, $1, m.type, m.data, m.metadata, m.expected_version) AS position
           FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::bigint[])
                WITH ORDINALITY AS m(id, type, data, metadata, expected_version, n)
          ORDER BY m.n`,
        [
          streamName,
          messages.map((message) => message.id),
          messages.map((message) => message.type),
          messages.map((message) => JSON.stringify(message.data ?? {})),
          messages.map((message) => jsonOrNull(metadataForWrite(message.metadata))),
          messages.map((_, index) => (index === 0 ? (expectedVersion ?? null) : null)),
        ],
      );
      return { position: Number(rows.at(-1)?.position), alreadyWritten: false };
    } catch (error) {
      const last = messages[messages.length - 1];
      const first = messages[0];
      if (!first || !last) throw error;
      const repeat = await recognizeRepeat(error, streamName, first.id);
      const stored = await findStored(db, last.id);
      if (!stored) throw versionConflictFrom(error) ?? error;
      return { ...repeat, position: stored.position };
    }
  }

  function read(streamName: string, options: ReadOptions = {}): Promise<StoredMessage[]> {
    return reconnecting(() => readOnce(streamName, options.from ?? 0, options.max ?? DEFAULT_BATCH_SIZE, options, db));
  }

  // No reconnecting: a lost connection ends the caller's transaction, which the caller retries whole.
  const readInTransaction = (tx: Queryable, streamName: string, options: ReadOptions = {}) =>
    readOnce(streamName, options.from ?? 0, options.max ?? DEFAULT_BATCH_SIZE, options, tx);

  async function readOnce(
    streamName: string,
    fromPosition: number,
    maxMessages: number,
    options: CategoryReadOptions,
    target: Queryable,
  ): Promise<StoredMessage[]> {
    let rows: MessageRow[];
    if (streamName === ALL_STREAMS) {
      rows = await target.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM message_store.messages WHERE global_position >= $1 ORDER BY global_position LIMIT $2`,
        [fromPosition, maxMessages],
      );
    } else if (isCategory(streamName) && options.correlation && options.originWithoutCorrelation) {
      rows = await target.query<MessageRow>(CORRELATED_OR_ORIGIN_ONLY, [
        streamName,
        fromPosition,
        maxMessages,
        options.correlation,
        options.consumerGroup?.member ?? null,
        options.consumerGroup?.size ?? null,
      ]);
    } else if (isCategory(streamName)) {
      rows = await target.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM message_store.get_category_messages($1, $2, $3, $4, $5, $6)`,
        [
          streamName,
          fromPosition,
          maxMessages,
          options.correlation ?? null,
          options.consumerGroup?.member ?? null,
          options.consumerGroup?.size ?? null,
        ],
      );
    } else {
      rows = await target.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM message_store.get_stream_messages($1, $2, $3)`,
        [streamName, fromPosition, maxMessages],
      );
    }
    return rows.map(toStoredMessage);
  }

  async function readLastMessage(streamName: string, type?: string): Promise<StoredMessage | null> {
    const [row] = await reconnecting(() =>
      db.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM message_store.get_last_stream_message($1, $2)`, [
        streamName,
        type ?? null,
      ]),
    );
    return row ? toStoredMessage(row) : null;
  }

  async function streamVersion(streamName: string): Promise<number> {
    const [row] = await db.query<{ version: string | number | null }>(
      'SELECT message_store.stream_version($1) AS version',
      [streamName],
    );
    return row?.version === null || row?.version === undefined ? -1 : Number(row.version);
  }

  async function fetch<Entity>(streamName: string, projection: Projection<Entity>): Promise<Fetched<Entity>> {
    const snapshots = projection.$snapshot;
    const start = snapshots ? await loadSnapshot(streamName, snapshots) : null;
    let entity = start ? start.entity : projection.$init();
    let version = start ? start.version : -1;
    for (;;) {
      const messages = await read(streamName, { from: version + 1, max: FETCH_BATCH_SIZE });
      for (const message of messages) {
        const reducer = reducerFor(projection, message.type);
        if (reducer) entity = reducer(entity, message);
        version = message.position;
      }
      if (messages.length < FETCH_BATCH_SIZE) break;
    }
    if (snapshots && version - (start?.version ?? -1) >= snapshots.every)
      await writeSnapshot(streamName, snapshots, entity, version);
    return { entity, version };
  }

  async function loadSnapshot<Entity>(streamName: string, settings: SnapshotSettings<Entity>) {
    const snapshot = await readLastMessage(snapshotStreamName(streamName));
    if (!snapshot || snapshot.data.projectionVersion !== settings.version) return null;
    const value = snapshot.data.entity;
    return {
      entity: settings.deserialize ? settings.deserialize(value) : (value as Entity),
      version: Number(snapshot.data.streamVersion),
    };
  }

  async function writeSnapshot<Entity>(
    streamName: string,
    settings: SnapshotSettings<Entity>,
    entity: Entity,
    version: number,
  ) {
    const snapshotStream = snapshotStreamName(streamName);
    // One id per (stream, version, projection version): concurrent fetches write it once.
    const id = uuidV5(`${streamName}|${version}|${settings.version}`, SNAPSHOT_NAMESPACE);
    await write(snapshotStream, {
      id,
      type: 'Snapshot',
      data: {
        entity: settings.serialize ? settings.serialize(entity) : entity,
        streamVersion: version,
        projectionVersion: settings.version,
      },
    });
  }

  const writeInTransaction = (tx: Queryable, streamName: string, message: Message, expectedVersion?: number | null) =>
    writeOne(tx, streamName, message, expectedVersion);

  const store: WithDatabase = {
    [DATABASE]: db,
    write,
    writeBatch,
    writeInTransaction,
    read,
    readInTransaction,
    readLastMessage,
    streamVersion,
    fetch,
  };
  return store;
}

/**
 * A category read filtered by origin, where the origin is Message DB's correlation or, for messages without one,
 * `originStreamName`. Two index scans of Message DB's `messages_category` index (category, global position,
 * correlation category), merged: the correlated messages by Message DB's own `get_category_messages`, which
 * filters on the index alone; then those without a correlation (`IS NULL` on the index, too), whose
 * `originStreamName` alone needs the table row. When the first read is a full batch, the second stops where it
 * ended, so a long catch-up never scans past the batch.
 */
const CORRELATED_OR_ORIGIN_ONLY = `
  WITH correlated AS (
    SELECT id, stream_name, type, position, global_position, data, metadata, time
      FROM message_store.get_category_messages($1, $2, $3, $4, $5, $6)
  ),
  upto AS (
    SELECT CASE WHEN count(*) >= $3 THEN max(global_position) END AS global_position FROM correlated
  ),
  origin_only AS (
    SELECT id::varchar, stream_name::varchar, type::varchar, position, global_position,
           data::varchar, metadata::varchar, time
      FROM message_store.messages
     WHERE message_store.category(stream_name) = $1
       AND global_position >= $2
       AND global_position <= COALESCE((SELECT global_position FROM upto), 9223372036854775807)
       AND message_store.category(metadata->>'correlationStreamName') IS NULL
       AND message_store.category(metadata->>'originStreamName') = $4
       AND ($5::bigint IS NULL
            OR MOD(@message_store.hash_64(message_store.cardinal_id(stream_name)), $6::bigint) = $5::bigint)
     ORDER BY global_position
     LIMIT $3
  )
  SELECT ${MESSAGE_COLUMNS}
    FROM (SELECT * FROM correlated UNION ALL SELECT * FROM origin_only) AS matching
   ORDER BY global_position
   LIMIT $3`;

/** `identity-1` → `identity:snapshot-1`; a category that already has types gains `+snapshot`. */
export function snapshotStreamName(streamName: string): string {
  const categoryName = categoryOf(streamName);
  const types = categoryTypes(streamName);
  const entity = categoryName.split(':')[0];
  return `${entity}:${[...types, 'snapshot'].join('+')}-${idOf(streamName) ?? ''}`;
}

function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}
