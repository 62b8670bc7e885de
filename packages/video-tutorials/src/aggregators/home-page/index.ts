import type { Queryable, StoredMessage } from 'message-db-toolkit';
import { VideoViewedAsRead, viewingCategory } from '../../contracts/viewing.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'home-page-aggregator',
  subscriptions: { events: { streamName: viewingCategory, subscriberId: 'aggregators:home-page' } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/** Keeps the home page's View Data: the global count of videos watched (the book's chapter 6). */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyViewings, deps);
}

export async function applyViewings(messages: StoredMessage[], tx: Queryable) {
  const [page] = await tx.query<{ last: string | number }>(
    `SELECT last_global_position AS last FROM pages WHERE page_name = 'home' FOR UPDATE`,
  );
  const applied = Number(page?.last ?? 0);
  const unapplied = messages.filter((message) => message.globalPosition > applied);
  const last = unapplied.at(-1);
  if (!last) return;
  const viewed = unapplied.filter((message) => VideoViewedAsRead.is(message));
  // Parsed, so an invalid viewing is parked rather than counted; the book's viewings are valid ones.
  for (const viewing of viewed) VideoViewedAsRead.parse(viewing);
  const viewings = viewed.length;
  await tx.query(
    `UPDATE pages
        SET page_data = jsonb_set(page_data, '{videosWatched}', to_jsonb(COALESCE((page_data->>'videosWatched')::bigint, 0) + $1)),
            last_global_position = $2
      WHERE page_name = 'home'`,
    [viewings, last.globalPosition],
  );
}

export async function loadHomePage(viewData: Queryable): Promise<{ videosWatched: number }> {
  const [row] = await viewData.query<{ videos_watched: string | number | null }>(
    `SELECT page_data->>'videosWatched' AS videos_watched FROM pages WHERE page_name = 'home'`,
  );
  return { videosWatched: Number(row?.videos_watched ?? 0) };
}
