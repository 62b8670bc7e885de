import { ALL_STREAMS, category, type Queryable, type StoredMessage } from 'message-db-toolkit';
import { timeOf } from '../admin-common/index.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const ADMIN_STREAMS_SUBSCRIBER_ID = 'aggregators:admin-streams';

export const descriptor = {
  name: 'admin-streams-aggregator',
  subscriptions: { events: { streamName: ALL_STREAMS, subscriberId: ADMIN_STREAMS_SUBSCRIBER_ID } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `admin_categories` (messages and streams per category and type) for the admin portal, from
 * `$all`: one row per category and type a batch holds. Streams need nothing here: the admin portal reads
 * them from Message DB's own table and indexes (`listStreams`, the toolkit's store browsing reads).
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyStreamStatistics, deps);
}

export async function applyStreamStatistics(messages: StoredMessage[], tx: Queryable) {
  if (messages.length === 0) return;
  await applyCategories(messages, tx);
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
