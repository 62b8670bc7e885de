import { ALL_STREAMS, id, recordedPosition, type Queryable, type StoredMessage } from 'message-db-toolkit';
import { isPositionMessage, timeOf } from '../admin-common/index.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID = 'aggregators:admin-subscriber-positions';

export const descriptor = {
  name: 'admin-subscriber-positions-aggregator',
  subscriptions: { events: { streamName: ALL_STREAMS, subscriberId: ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `admin_subscriber_positions`: the last position every component (and every member of a
 * consumer group) recorded, from the `Read` messages of `subscriberPosition-{subscriberId}` and
 * `subscriberPosition-{subscriberId}+{member}of{size}`.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyPositions, deps);
}

/** `subscriberPosition-identity+1of3` → the subscriber `identity`, member 1 of a group of 3. */
export function parsePositionStreamName(streamName: string) {
  const streamId = id(streamName) ?? '';
  const grouped = /^(.+)\+(\d+)of(\d+)$/.exec(streamId);
  return grouped
    ? { subscriberId: grouped[1]!, member: Number(grouped[2]), groupSize: Number(grouped[3]) }
    : { subscriberId: streamId, member: null, groupSize: null };
}

export async function applyPositions(messages: StoredMessage[], tx: Queryable) {
  const lastOfStream = new Map<string, StoredMessage>();
  for (const message of messages) {
    if (!isPositionMessage(message) || recordedPosition(message) === null) continue; // not a position: nothing to show
    lastOfStream.set(message.streamName, message);
  }
  const reads = [...lastOfStream.values()];
  if (reads.length === 0) return;
  const streams = reads.map((message) => parsePositionStreamName(message.streamName));
  await tx.query(
    `INSERT INTO admin_subscriber_positions AS p
            (stream_name, subscriber_id, member, group_size, position, last_global_position, updated_at)
     SELECT * FROM unnest($1::text[], $2::text[], $3::integer[], $4::integer[], $5::bigint[], $6::bigint[],
                          $7::timestamptz[])
     ON CONFLICT (stream_name) DO UPDATE
        SET position = EXCLUDED.position,
            last_global_position = EXCLUDED.last_global_position,
            updated_at = EXCLUDED.updated_at
      WHERE p.last_global_position < EXCLUDED.last_global_position`,
    [
      reads.map((message) => message.streamName),
      streams.map((stream) => stream.subscriberId),
      streams.map((stream) => stream.member),
      streams.map((stream) => stream.groupSize),
      reads.map(recordedPosition),
      reads.map((message) => message.globalPosition),
      reads.map(timeOf),
    ],
  );
}

export interface SubscriberPosition {
  /** The `subscriberPosition-…` stream of a component; null for an aggregator (its position is in View Data). */
  streamName: string | null;
  subscriberId: string;
  member: number | null;
  groupSize: number | null;
  position: number;
  updatedAt: Date;
}

/**
 * Every consumer's position, by subscriber and member (a few hundred at most in any system): the
 * components' from their `Read` records, the aggregators' from View Data's `consumer_positions`. A
 * `Read` record of a consumer that now keeps its position in View Data (written before it did) is
 * left out.
 */
export async function listSubscriberPositions(viewData: Queryable, limit = 1000): Promise<SubscriberPosition[]> {
  const rows = await viewData.query<{
    stream_name: string | null;
    subscriber_id: string;
    member: number | null;
    group_size: number | null;
    position: string | number;
    updated_at: Date | string;
  }>(
    `SELECT stream_name, subscriber_id, member, group_size, position, updated_at
       FROM admin_subscriber_positions p
      WHERE NOT EXISTS (SELECT 1 FROM consumer_positions c WHERE p.stream_name = 'subscriberPosition-' || c.subscriber_id)
     UNION ALL
     SELECT NULL, subscriber_id, NULL, NULL, position, updated_at FROM consumer_positions
     ORDER BY subscriber_id, member NULLS FIRST LIMIT $1`,
    [limit],
  );
  return rows.map((row) => {
    // A View Data key names a group member as the stream name does: `id+{member}of{size}`.
    const consumer =
      row.stream_name === null
        ? parsePositionStreamName(`subscriberPosition-${row.subscriber_id}`)
        : { subscriberId: row.subscriber_id, member: row.member, groupSize: row.group_size };
    return {
      streamName: row.stream_name,
      ...consumer,
      position: Number(row.position),
      updatedAt: new Date(row.updated_at),
    };
  });
}
