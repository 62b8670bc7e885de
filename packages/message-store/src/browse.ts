import type { Queryable } from './database/port.js';
import type { StoredMessage } from './message.js';
import { databaseOf, MESSAGE_COLUMNS, toStoredMessage, type MessageRow, type MessageStore } from './store.js';
import { ALL_STREAMS } from './stream-name.js';

/**
 * Reads for browsing a message store (an admin portal's): messages by position and by id; pages of `$all`, of a
 * category and of a stream, newest first; searches by type; streams and categories; how far consumers are behind.
 * Each one is an index lookup or a bounded index range — by global position (the primary key), by id, by stream
 * (Message DB's `messages_stream`) or by category (`messages_category`) — so it stays as fast with millions of
 * messages as with a hundred.
 */

const select = `SELECT ${MESSAGE_COLUMNS} FROM message_store.messages`;

/** The messages at these global positions, newest first (a primary-key lookup). */
export async function messagesAt(db: Queryable, positions: number[]): Promise<StoredMessage[]> {
  if (positions.length === 0) return [];
  const rows = await db.query<MessageRow>(
    `${select} WHERE global_position = ANY($1::bigint[]) ORDER BY global_position DESC`,
    [positions],
  );
  return rows.map(toStoredMessage);
}

export async function messageById(db: Queryable, messageId: string): Promise<StoredMessage | null> {
  const [row] = await db.query<MessageRow>(`${select} WHERE id = $1::uuid`, [messageId]);
  return row ? toStoredMessage(row) : null;
}

export async function messageAt(db: Queryable, globalPosition: number): Promise<StoredMessage | null> {
  const [message] = await messagesAt(db, [globalPosition]);
  return message ?? null;
}

/**
 * A page of `$all` or of one category, newest first: before a global position, or — given `after`
 * — the page just after it. Keyset paging on the primary key (or on Message DB's category index),
 * never OFFSET.
 */
export async function latestMessages(
  db: Queryable,
  { category, before, after, limit }: { category?: string; before?: number; after?: number; limit: number },
): Promise<StoredMessage[]> {
  const params: unknown[] = [];
  const conditions: string[] = [];
  // The very expression of Message DB's `messages_category` index.
  if (category) conditions.push(`message_store.category(stream_name) = $${params.push(category)}`);
  if (before !== undefined) conditions.push(`global_position < $${params.push(before)}`);
  if (after !== undefined) conditions.push(`global_position > $${params.push(after)}`);
  const rows = await db.query<MessageRow>(
    `${select} ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY global_position ${after !== undefined ? 'ASC' : 'DESC'} LIMIT $${params.push(limit)}`,
    params,
  );
  const messages = rows.map(toStoredMessage);
  return after !== undefined ? messages.reverse() : messages;
}

/** A page of a stream, newest first, before a stream position (Message DB's `messages_stream` index). */
export async function streamMessages(
  db: Queryable,
  streamName: string,
  { before, limit }: { before?: number; limit: number },
): Promise<StoredMessage[]> {
  const params: unknown[] = [streamName];
  const beforeCondition = before !== undefined ? `AND position < $${params.push(before)}` : '';
  const rows = await db.query<MessageRow>(
    `${select} WHERE stream_name = $1 ${beforeCondition} ORDER BY position DESC LIMIT $${params.push(limit)}`,
    params,
  );
  return rows.map(toStoredMessage);
}

/** The newest global position of all messages. */
export async function headOfAll(db: Queryable): Promise<number> {
  const [row] = await db.query<{ head: string | number | null }>(
    'SELECT max(global_position) AS head FROM message_store.messages',
  );
  return Number(row?.head ?? 0);
}

export interface ReadProgress {
  /** The newest global position of what the consumer reads (a category or `$all`); 0 when empty. */
  head: number;
  /** Messages it has not read yet, counted up to `countUpTo`. */
  unread: number;
}

/**
 * Where consumers stand against what they read: for each (category or `$all`, position), the head
 * of that category and how many of its messages come after the position, counted no further than
 * `countUpTo` so that a consumer far behind costs no more than one near the head.
 */
export async function readProgress(
  db: Queryable,
  consumers: { reads: string; position: number }[],
  countUpTo: number,
): Promise<ReadProgress[]> {
  if (consumers.length === 0) return [];
  const rows = await db.query<{ head: string | number | null; unread: string | number }>(
    `SELECT CASE WHEN c.reads = '$all'
                 THEN (SELECT max(global_position) FROM message_store.messages)
                 ELSE (SELECT max(global_position) FROM message_store.messages
                        WHERE message_store.category(stream_name) = c.reads) END AS head,
            CASE WHEN c.reads = '$all'
                 THEN (SELECT count(*) FROM (SELECT 1 FROM message_store.messages
                                              WHERE global_position > c.position LIMIT $3) AS unread)
                 ELSE (SELECT count(*) FROM (SELECT 1 FROM message_store.messages
                                              WHERE message_store.category(stream_name) = c.reads
                                                AND global_position > c.position LIMIT $3) AS unread) END AS unread
       FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS c(reads, position, n)
      ORDER BY c.n`,
    [consumers.map((consumer) => consumer.reads), consumers.map((consumer) => consumer.position), countUpTo],
  );
  return rows.map((row) => ({ head: Number(row.head ?? 0), unread: Number(row.unread) }));
}

/** How many messages one page of a type searches, at most (one bounded index range). */
export const TYPE_SEARCH_WINDOW = 2000;

export interface TypeSearch {
  /** The global positions of the messages of the type found, newest first. */
  positions: number[];
  /** The last global position searched (the oldest, or paging newer the newest); null when nothing was. */
  searchedTo: number | null;
  /** Whether the search reached the end of `$all` (or of the category) in its direction. */
  exhausted: boolean;
}

/**
 * A page of messages of a type (and category), newest first — before a global position or, given `after`,
 * just after it — found among at most `window` messages of `$all` or of the category (the primary key or
 * `messages_category`, as `latestMessages`). Nothing is copied for it into View Data: a page costs one bounded
 * index range, and the next page goes on from where this one stopped searching.
 */
export async function searchType(
  db: Queryable,
  {
    type,
    category,
    before,
    after,
    limit,
    window = TYPE_SEARCH_WINDOW,
  }: { type: string; category?: string; before?: number; after?: number; limit: number; window?: number },
): Promise<TypeSearch> {
  const params: unknown[] = [type];
  const conditions: string[] = [];
  if (category) conditions.push(`message_store.category(stream_name) = $${params.push(category)}`);
  if (before !== undefined) conditions.push(`global_position < $${params.push(before)}`);
  if (after !== undefined) conditions.push(`global_position > $${params.push(after)}`);
  const direction = after !== undefined ? 'ASC' : 'DESC';
  const [row] = await db.query<{
    positions: (string | number)[];
    searched_to: string | number | null;
    searched: number;
  }>(
    `WITH searched AS MATERIALIZED (
       SELECT global_position, type FROM message_store.messages
        ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
        ORDER BY global_position ${direction} LIMIT $${params.push(window)})
     SELECT array(SELECT global_position FROM searched WHERE type = $1
                   ORDER BY global_position ${direction} LIMIT $${params.push(limit)}) AS positions,
            (SELECT ${after !== undefined ? 'max' : 'min'}(global_position) FROM searched) AS searched_to,
            (SELECT count(*)::int FROM searched) AS searched`,
    params,
  );
  const positions = (row?.positions ?? []).map(Number);
  return {
    positions: after !== undefined ? positions.reverse() : positions,
    searchedTo: row?.searched_to == null ? null : Number(row.searched_to),
    exhausted: (row?.searched ?? 0) < window,
  };
}

export interface StreamSummary {
  streamName: string;
  category: string;
  /** Its last position + 1: positions start at 0 and have no gaps. */
  messageCount: number;
  lastPosition: number;
  lastGlobalPosition: number;
  lastType: string;
  lastTime: Date;
}

type LastMessageRow = {
  stream_name: string;
  category: string;
  position: string | number;
  global_position: string | number;
  type: string;
  time: string;
};

const toStreamSummary = (row: LastMessageRow): StreamSummary => ({
  streamName: row.stream_name,
  category: row.category,
  messageCount: Number(row.position) + 1,
  lastPosition: Number(row.position),
  lastGlobalPosition: Number(row.global_position),
  lastType: row.type,
  lastTime: new Date(row.time),
});

const LAST_MESSAGE_COLUMNS = `stream_name, message_store.category(stream_name) AS category, position, global_position,
  type, to_char(time, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS time`;

/** A stream's message count and last message: its last entry in Message DB's `messages_stream` index. */
export async function findStream(db: Queryable, streamName: string): Promise<StreamSummary | null> {
  const [row] = await db.query<LastMessageRow>(
    `SELECT ${LAST_MESSAGE_COLUMNS} FROM message_store.messages
      WHERE stream_name = $1 ORDER BY position DESC LIMIT 1`,
    [streamName],
  );
  return row ? toStreamSummary(row) : null;
}

/** How many messages one page of streams scans, at most. */
export const STREAM_SCAN_WINDOW = 20_000;

export interface StreamListing {
  /** The streams whose last message was among those scanned, most recently written first. */
  streams: StreamSummary[];
  /** The next page lists the streams last written before this global position; null when none is left. */
  olderBefore: number | null;
  /**
   * Set when the scan window ran out (the page may then hold fewer streams than asked, none even): the
   * global positions scanned, all of them, newest to oldest; the older page goes on from the oldest.
   */
  scanned: { newest: number; oldest: number } | null;
}

/**
 * Streams most recently written first — of `$all` or of one category — read from Message DB's own table:
 * the messages before `before`, newest first (the primary key, or `messages_category`), each kept only when
 * it is its stream's last (a probe of `messages_stream`), so a stream comes once, at its last message's
 * global position, and paging on that position never skips or repeats one. Nothing is kept for it in
 * View Data. One page scans at most `window` messages: when those end before the page is full (a long
 * stream written to again and again fills them) the page is short and the next goes on from where it stopped.
 */
export async function listStreams(
  db: Queryable,
  {
    category,
    before,
    limit,
    window = STREAM_SCAN_WINDOW,
  }: { category?: string; before?: number; limit: number; window?: number },
): Promise<StreamListing> {
  const params: unknown[] = [];
  const conditions: string[] = [];
  if (category) conditions.push(`message_store.category(stream_name) = $${params.push(category)}`);
  if (before !== undefined) conditions.push(`global_position < $${params.push(before)}`);
  const scan = `SELECT global_position, stream_name, position, type, time FROM message_store.messages
                 ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
                 ORDER BY global_position DESC LIMIT $${params.push(window)}`;
  const pageSize = `$${params.push(limit + 1)}`;
  // One statement, so one snapshot: the page and where its scan stopped agree. The scalar subquery is a
  // probe per message that no planner turns into a join over the whole table; the scan stops as soon as
  // the page is full, and only a page that is not goes over the window again to learn where it ended.
  const rows = await db.query<LastMessageRow & { scanned: string | number | null; newest: string | number | null }>(
    `WITH page AS (
       SELECT scanned.* FROM (${scan}) AS scanned
        WHERE scanned.position = (SELECT max(later.position) FROM message_store.messages later
                                   WHERE later.stream_name = scanned.stream_name)
        ORDER BY scanned.global_position DESC LIMIT ${pageSize}
     )
     SELECT ${LAST_MESSAGE_COLUMNS}, NULL::bigint AS scanned, NULL::bigint AS newest FROM page
     UNION ALL
     SELECT NULL, NULL, NULL, min(global_position), NULL, NULL, count(*), max(global_position)
       FROM (${scan}) AS window_scanned
     HAVING (SELECT count(*) FROM page) < ${pageSize}`,
    params,
  );
  const found = rows
    .filter((row) => row.stream_name !== null)
    .map(toStreamSummary)
    .sort((a, b) => b.lastGlobalPosition - a.lastGlobalPosition);
  if (found.length > limit) {
    const streams = found.slice(0, limit);
    return { streams, olderBefore: streams.at(-1)!.lastGlobalPosition, scanned: null };
  }
  const ended = rows.find((row) => row.stream_name === null);
  // Fewer messages than the window: the scan reached the oldest message there is.
  if (!ended || Number(ended.scanned) < window) return { streams: found, olderBefore: null, scanned: null };
  const oldest = Number(ended.global_position);
  return { streams: found, olderBefore: oldest, scanned: { newest: Number(ended.newest), oldest } };
}

/** The names of a category's streams (e.g. every consumer's parking lot), those last written among a window. */
export async function listStreamNamesOfCategory(db: Queryable, category: string, limit = 500): Promise<string[]> {
  const { streams } = await listStreams(db, { category, limit });
  return streams.map((stream) => stream.streamName);
}

/** How many messages `$all` or a category holds (a count over Message DB's category index for a category). */
export async function countMessages(db: Queryable, streamName: string): Promise<number> {
  const [row] =
    streamName === ALL_STREAMS
      ? await db.query<{ count: string | number }>('SELECT count(*) AS count FROM message_store.messages')
      : await db.query<{ count: string | number }>(
          'SELECT count(*) AS count FROM message_store.messages WHERE message_store.category(stream_name) = $1',
          [streamName],
        );
  return Number(row?.count ?? 0);
}

/** A browsing read with the store's database already given. */
type OfTheStore<Read> = Read extends (db: Queryable, ...rest: infer Rest) => infer Result
  ? (...rest: Rest) => Result
  : never;

/** The browsing reads of one store (see the top of this module), for an admin portal that holds only the store. */
export interface StoreBrowser {
  messagesAt: OfTheStore<typeof messagesAt>;
  messageById: OfTheStore<typeof messageById>;
  messageAt: OfTheStore<typeof messageAt>;
  latestMessages: OfTheStore<typeof latestMessages>;
  streamMessages: OfTheStore<typeof streamMessages>;
  headOfAll: OfTheStore<typeof headOfAll>;
  readProgress: OfTheStore<typeof readProgress>;
  searchType: OfTheStore<typeof searchType>;
  findStream: OfTheStore<typeof findStream>;
  listStreams: OfTheStore<typeof listStreams>;
  listStreamNamesOfCategory: OfTheStore<typeof listStreamNamesOfCategory>;
  countMessages: OfTheStore<typeof countMessages>;
}

export function storeBrowser(store: MessageStore): StoreBrowser {
  const db = databaseOf(store);
  return {
    messagesAt: (...args) => messagesAt(db, ...args),
    messageById: (...args) => messageById(db, ...args),
    messageAt: (...args) => messageAt(db, ...args),
    latestMessages: (...args) => latestMessages(db, ...args),
    streamMessages: (...args) => streamMessages(db, ...args),
    headOfAll: () => headOfAll(db),
    readProgress: (...args) => readProgress(db, ...args),
    searchType: (...args) => searchType(db, ...args),
    findStream: (...args) => findStream(db, ...args),
    listStreams: (...args) => listStreams(db, ...args),
    listStreamNamesOfCategory: (...args) => listStreamNamesOfCategory(db, ...args),
    countMessages: (...args) => countMessages(db, ...args),
  };
}
