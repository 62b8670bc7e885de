import { ALL_STREAMS, type Queryable, type StoredMessage } from 'message-db-toolkit';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID = 'aggregators:admin-message-index';

export const descriptor = {
  name: 'admin-message-index-aggregator',
  subscriptions: { events: { streamName: ALL_STREAMS, subscriberId: ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps two indexes into the message store for the admin portal — messages by trace id and by user —
 * each a list of global positions, so a page reads the messages themselves by primary key. Only what
 * Message DB's own indexes cannot find is kept: a message with neither a trace nor a user adds no row
 * (pages by type search Message DB's primary key or category index instead). Rows are keys: inserting
 * one twice changes nothing.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyMessageIndex, deps);
}

const text = (value: unknown) => (typeof value === 'string' && value.length > 0 && value.length <= 200 ? value : null);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The users a message is about: the acting user of its metadata and, when another, the user its
 * data names (an admin's `UnlockAccount` is about the account it unlocks). User ids are UUIDs;
 * `anonymous` viewers are nobody in particular.
 */
export function usersOf(message: StoredMessage): string[] {
  const users = new Set<string>();
  for (const value of [message.metadata.userId, message.data.userId])
    if (typeof value === 'string' && UUID.test(value)) users.add(value.toLowerCase());
  return [...users];
}

export async function applyMessageIndex(messages: StoredMessage[], tx: Queryable) {
  if (messages.length === 0) return;
  const traced = messages.filter((message) => text(message.metadata.traceId));
  if (traced.length > 0)
    await tx.query(
      `INSERT INTO admin_messages_by_trace (trace_id, global_position)
       SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`,
      [traced.map((message) => message.metadata.traceId), traced.map((message) => message.globalPosition)],
    );

  const byUser = messages.flatMap((message) => usersOf(message).map((userId) => ({ userId, message })));
  if (byUser.length > 0)
    await tx.query(
      `INSERT INTO admin_messages_by_user (user_id, global_position, type)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ON CONFLICT DO NOTHING`,
      [
        byUser.map((entry) => entry.userId),
        byUser.map((entry) => entry.message.globalPosition),
        byUser.map((entry) => entry.message.type),
      ],
    );
}

type PositionRow = { global_position: string | number };
const positionsOf = (rows: PositionRow[]) => rows.map((row) => Number(row.global_position));

/** The global positions of a trace's messages, oldest first. */
export async function tracePositions(viewData: Queryable, traceId: string, limit: number): Promise<number[]> {
  return positionsOf(
    await viewData.query<PositionRow>(
      `SELECT global_position FROM admin_messages_by_trace WHERE trace_id = $1 ORDER BY global_position LIMIT $2`,
      [traceId, limit],
    ),
  );
}

/** The global positions of the messages about a user, newest first; optionally only of one type. */
export async function userPositions(
  viewData: Queryable,
  userId: string,
  { before, type, limit }: { before?: number; type?: string; limit: number },
): Promise<number[]> {
  const params: unknown[] = [userId];
  const conditions = ['user_id = $1'];
  if (type) conditions.push(`type = $${params.push(type)}`);
  if (before !== undefined) conditions.push(`global_position < $${params.push(before)}`);
  return positionsOf(
    await viewData.query<PositionRow>(
      `SELECT global_position FROM admin_messages_by_user WHERE ${conditions.join(' AND ')}
        ORDER BY global_position DESC LIMIT $${params.push(limit)}`,
      params,
    ),
  );
}
