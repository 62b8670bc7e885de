import type { Queryable, StoredMessage } from 'message-db-toolkit';
import { VideoViewedAsRead, viewingCategory } from '../../contracts/viewing.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'video-views-aggregator',
  subscriptions: { events: { streamName: viewingCategory, subscriberId: 'aggregators:video-views' } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `video_view_counts`: a video's views are the messages of its viewing
 * stream, so its count is its last position + 1 — a replay cannot count twice. Video ids are kept as
 * written: the book's sample video is `12345`, so `video_id` is text (migration 0009).
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyViewCounts, deps);
}

export async function applyViewCounts(messages: StoredMessage[], tx: Queryable) {
  const counts = new Map<string, number>();
  for (const message of messages) {
    if (!VideoViewedAsRead.is(message)) continue;
    const { videoId } = VideoViewedAsRead.parse(message).data;
    counts.set(videoId, Math.max(counts.get(videoId) ?? 0, message.position + 1));
  }
  for (const [videoId, viewCount] of counts)
    await tx.query(
      `INSERT INTO video_view_counts (video_id, view_count) VALUES ($1, $2)
       ON CONFLICT (video_id) DO UPDATE SET view_count = GREATEST(video_view_counts.view_count, EXCLUDED.view_count)`,
      [videoId, viewCount],
    );
}
