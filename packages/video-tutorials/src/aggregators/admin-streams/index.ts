import {
  category,
  type Database,
  type Logger,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from '@vt/message-store';
import { pieceOf } from '../../piece.js';
import { adminAllSubscription, timeOf } from '../admin-common/index.js';

export const ADMIN_STREAMS_SUBSCRIBER_ID = 'aggregators:admin-streams';

/**
 * Keeps `admin_streams` (every stream: its message count, last message) and `admin_categories`
 * (messages and streams per category and type) for the admin portal, from `$all`.
 */
export function build({ store, viewData, logger }: { store: MessageStore; viewData: Database; logger?: Logger }) {
  const subscription = adminAllSubscription({
    store,
    viewData,
    logger,
    subscriberId: ADMIN_STREAMS_SUBSCRIBER_ID,
    apply: applyStreamStatistics,
  });
  return { ...pieceOf('admin-streams-aggregator', [subscription]), apply: applyStreamStatistics };
}

export async function applyStreamStatistics(messages: StoredMessage[], tx: Queryable) {
  if (messages.length === 0) return;
  await applyStreams(messages, tx);
  await applyCategories(messages, tx);
}

/**
 * A stream's message count is its last position + 1 (positions start at 0 and have no gaps), so a
 * row only ever moves forward to a later last message: applying anything twice changes nothing.
 */
async function applyStreams(messages: StoredMessage[], tx: Queryable) {
  const lastOfStream = new Map<string, StoredMessage>();
  for (const message of messages) lastOfStream.set(message.streamName, message);
  const last = [...lastOfStream.values()];
  await tx.query(
    `INSERT INTO admin_streams AS s
            (stream_name, category, message_count, last_position, last_global_position, last_type, last_time)
     SELECT m.stream_name, m.category, m.position + 1, m.position, m.global_position, m.type, m.time
       FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::timestamptz[])
            AS m(stream_name, category, position, global_position, type, time)
     ON CONFLICT (stream_name) DO UPDATE
        SET message_count = GREATEST(s.message_count, EXCLUDED.message_count),
            last_position = EXCLUDED.last_position,
            last_global_position = EXCLUDED.last_global_position,
            last_type = EXCLUDED.last_type,
            last_time = EXCLUDED.last_time
      WHERE s.last_global_position < EXCLUDED.last_global_position`,
    [
      last.map((message) => message.streamName),
      last.map((message) => category(message.streamName)),
      last.map((message) => message.position),
      last.map((message) => message.globalPosition),
      last.map((message) => message.type),
      last.map(timeOf),
    ],
  );
}

/**
 * Counts each message once: a (category, type) row counts only messages after the last global
 * position it applied. A stream's first message (position 0) counts the stream.
 */
async function applyCategories(messages: StoredMessage[], tx: Queryable) {
  await tx.query(
    `WITH incoming AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[])
                  AS m(category, type, position, global_position, time)
     ), unapplied AS (
       SELECT m.* FROM incoming m
         LEFT JOIN admin_categories c ON c.category = m.category AND c.type = m.type
        WHERE c.category IS NULL OR m.global_position > c.last_global_position
     )
     INSERT INTO admin_categories AS c (category, type, message_count, stream_count, last_global_position, last_time)
     SELECT category, type, count(*), count(*) FILTER (WHERE position = 0), max(global_position), max(time)
       FROM unapplied GROUP BY category, type
     ON CONFLICT (category, type) DO UPDATE
        SET message_count = c.message_count + EXCLUDED.message_count,
            stream_count = c.stream_count + EXCLUDED.stream_count,
            last_global_position = GREATEST(c.last_global_position, EXCLUDED.last_global_position),
            last_time = GREATEST(c.last_time, EXCLUDED.last_time)`,
    [
      messages.map((message) => category(message.streamName)),
      messages.map((message) => message.type),
      messages.map((message) => message.position),
      messages.map((message) => message.globalPosition),
      messages.map(timeOf),
    ],
  );
}

export interface StreamSummary {
  streamName: string;
  category: string;
  messageCount: number;
  lastPosition: number;
  lastGlobalPosition: number;
  lastType: string;
  lastTime: Date;
}

type StreamRow = {
  stream_name: string;
  category: string;
  message_count: string | number;
  last_position: string | number;
  last_global_position: string | number;
  last_type: string;
  last_time: Date | string;
};

const toStreamSummary = (row: StreamRow): StreamSummary => ({
  streamName: row.stream_name,
  category: row.category,
  messageCount: Number(row.message_count),
  lastPosition: Number(row.last_position),
  lastGlobalPosition: Number(row.last_global_position),
  lastType: row.last_type,
  lastTime: new Date(row.last_time),
});

const STREAM_COLUMNS = `stream_name, category, message_count, last_position, last_global_position, last_type, last_time`;

/** Streams, most recently written first, a page at a time (keyset on the last global position). */
export async function listStreams(
  viewData: Queryable,
  { category: categoryName, before, limit }: { category?: string; before?: number; limit: number },
): Promise<StreamSummary[]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  if (categoryName) conditions.push(`category = $${params.push(categoryName)}`);
  if (before !== undefined) conditions.push(`last_global_position < $${params.push(before)}`);
  const rows = await viewData.query<StreamRow>(
    `SELECT ${STREAM_COLUMNS} FROM admin_streams
      ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY last_global_position DESC LIMIT $${params.push(limit)}`,
    params,
  );
  return rows.map(toStreamSummary);
}

export async function findStream(viewData: Queryable, streamName: string): Promise<StreamSummary | null> {
  const [row] = await viewData.query<StreamRow>(`SELECT ${STREAM_COLUMNS} FROM admin_streams WHERE stream_name = $1`, [
    streamName,
  ]);
  return row ? toStreamSummary(row) : null;
}

/** The streams of a category, e.g. every consumer's parking lot (`parkedMessages`). */
export async function listStreamNamesOfCategory(viewData: Queryable, categoryName: string, limit = 500) {
  const rows = await viewData.query<{ stream_name: string }>(
    `SELECT stream_name FROM admin_streams WHERE category = $1 ORDER BY last_global_position DESC LIMIT $2`,
    [categoryName, limit],
  );
  return rows.map((row) => row.stream_name);
}

export interface CategorySummary {
  category: string;
  messageCount: number;
  streamCount: number;
  lastGlobalPosition: number;
  lastTime: Date;
  types: { type: string; messageCount: number }[];
}

/** Every category with its counts and its message types, busiest type first. */
export async function listCategories(viewData: Queryable): Promise<CategorySummary[]> {
  const rows = await viewData.query<{
    category: string;
    type: string;
    message_count: string | number;
    stream_count: string | number;
    last_global_position: string | number;
    last_time: Date | string;
  }>(
    `SELECT category, type, message_count, stream_count, last_global_position, last_time
       FROM admin_categories ORDER BY category, message_count DESC, type`,
  );
  const categories = new Map<string, CategorySummary>();
  for (const row of rows) {
    let summary = categories.get(row.category);
    if (!summary) {
      summary = {
        category: row.category,
        messageCount: 0,
        streamCount: 0,
        lastGlobalPosition: 0,
        lastTime: new Date(0),
        types: [],
      };
      categories.set(row.category, summary);
    }
    summary.messageCount += Number(row.message_count);
    summary.streamCount += Number(row.stream_count);
    summary.lastGlobalPosition = Math.max(summary.lastGlobalPosition, Number(row.last_global_position));
    const lastTime = new Date(row.last_time);
    if (lastTime > summary.lastTime) summary.lastTime = lastTime;
    summary.types.push({ type: row.type, messageCount: Number(row.message_count) });
  }
  return [...categories.values()];
}
