import type { Database, Logger, MessageStore, Queryable, StoredMessage } from '@vt/message-store';
import { buildCues, Cues, type Cue } from '../../captions.js';
import {
  PublishingRetried,
  PublishingStarted,
  VideoDescribed,
  VideoNamed,
  VideoPublished,
  videoPublishingCategory,
  VideoTranscoded,
  VideoTranscribed,
} from '../../contracts/video-publishing.js';
import { pieceOf } from '../../piece.js';
import { aggregatorSubscription } from '../aggregator.js';
import { listingChangesOf, parsedInItsStream, updateIfNewer, upsertIfNewer } from '../creators-videos/index.js';

/**
 * Keeps `video_catalogue`, the public catalogue: a video shows once it is published and listed by its owner (a
 * video the book's system published, whose row no `PublishingStarted` made, has `listed` null: public, as the
 * book showed it), until it is unlisted or deleted. A transcription with timed
 * words becomes the video's caption cues (`caption_cues`, see src/captions.ts), made here once rather than on
 * every request for the watch page or its captions.
 */
export function build({ store, viewData, logger }: { store: MessageStore; viewData: Database; logger?: Logger }) {
  const subscription = aggregatorSubscription({
    store,
    viewData,
    logger,
    streamName: videoPublishingCategory,
    subscriberId: 'aggregators:catalogue',
    apply: applyCatalogueEvents,
  });
  return { ...pieceOf('catalogue-aggregator', [subscription]), apply: applyCatalogueEvents };
}

export async function applyCatalogueEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (PublishingStarted.is(message)) {
      const { videoId, ownerId } = PublishingStarted.parse(message).data;
      await tx.query(
        `INSERT INTO video_catalogue (id, owner_id, publishing_position, listed) VALUES ($1, $2, $3, false)
         ON CONFLICT (id) DO NOTHING`,
        [videoId, ownerId, message.position],
      );
    } else if (VideoTranscoded.is(message)) {
      const { transcodedUri, posterUri, durationSeconds } = VideoTranscoded.parse(message).data;
      await updateIfNewer(tx, 'video_catalogue', message, {
        transcoded_uri: transcodedUri,
        poster_uri: posterUri,
        duration_seconds: durationSeconds,
      });
    } else if (VideoTranscribed.is(message)) {
      const { transcription, words } = VideoTranscribed.parse(message).data;
      await updateIfNewer(tx, 'video_catalogue', message, {
        transcription,
        caption_cues: words
          ? JSON.stringify(buildCues(words.map(([text, start, end]) => ({ text, start, end }))))
          : null,
      });
    } else if (VideoPublished.is(message)) {
      // The book's system published without a PublishingStarted before: the row is made here then.
      const { ownerId, transcodedUri } = parsedInItsStream(VideoPublished, message).data;
      await upsertIfNewer(tx, 'video_catalogue', message, {
        owner_id: ownerId,
        transcoded_uri: transcodedUri,
        published_at: message.time.toISOString(),
      });
    } else if (VideoNamed.is(message)) {
      await updateIfNewer(tx, 'video_catalogue', message, { name: VideoNamed.parse(message).data.name });
    } else if (VideoDescribed.is(message)) {
      await updateIfNewer(tx, 'video_catalogue', message, {
        description: VideoDescribed.parse(message).data.description,
      });
    } else if (PublishingRetried.is(message)) {
      // A video the book's system failed, tried again here, is public only by its owner's choice from now on.
      const { ownerId } = parsedInItsStream(PublishingRetried, message).data;
      await upsertIfNewer(tx, 'video_catalogue', message, { owner_id: ownerId, listed: false });
    } else {
      const changes = listingChangesOf(message);
      if (changes)
        await updateIfNewer(tx, 'video_catalogue', message, {
          ...changes,
          ...(changes.deleted_at ? { caption_cues: null } : {}),
        });
    }
  }
}

export interface CatalogueVideo {
  id: string;
  ownerId: string;
  name: string;
  description: string;
  transcodedUri: string;
  posterUri: string | null;
  transcription: string | null;
  durationSeconds: number | null;
  viewCount: number;
  publishedAt: Date;
}

type CatalogueRow = {
  id: string;
  owner_id: string;
  name: string;
  description: string;
  transcoded_uri: string;
  poster_uri: string | null;
  transcription: string | null;
  duration_seconds: number | null;
  view_count: string | number;
  published_at: Date | string;
};

/** Public: published, listed (or the book's), not deleted. The partial index video_catalogue_public is this. */
const PUBLIC = `v.published_at IS NOT NULL AND v.deleted_at IS NULL AND v.listed IS NOT FALSE`;

const SELECT_PUBLISHED = `
  SELECT v.id, v.owner_id, v.name, v.description, v.transcoded_uri, v.poster_uri, v.transcription,
         v.duration_seconds, COALESCE(c.view_count, 0) AS view_count, v.published_at
    FROM video_catalogue v LEFT JOIN video_view_counts c ON c.video_id = v.id::text
   WHERE ${PUBLIC}`;

const toCatalogueVideo = (row: CatalogueRow): CatalogueVideo => ({
  id: row.id,
  ownerId: row.owner_id,
  name: row.name,
  description: row.description,
  transcodedUri: row.transcoded_uri,
  posterUri: row.poster_uri,
  transcription: row.transcription,
  durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
  viewCount: Number(row.view_count),
  publishedAt: new Date(row.published_at),
});

export async function listPublishedVideos(viewData: Queryable, limit = 48): Promise<CatalogueVideo[]> {
  const rows = await viewData.query<CatalogueRow>(`${SELECT_PUBLISHED} ORDER BY v.published_at DESC LIMIT $1`, [limit]);
  return rows.map(toCatalogueVideo);
}

export async function findPublishedVideo(viewData: Queryable, videoId: string): Promise<CatalogueVideo | null> {
  const [row] = await viewData.query<CatalogueRow>(`${SELECT_PUBLISHED} AND v.id = $1`, [videoId]);
  return row ? toCatalogueVideo(row) : null;
}

/**
 * The caption cues of a published video — empty when its transcription has no word times (none, an old one, or
 * silence) — or null when no such video is published. Read apart from the video: the catalogue's other readers
 * (the home page, the media, viewings) never need them. Cues that are not what `buildCues` makes count as none.
 */
export async function findCaptionCues(viewData: Queryable, videoId: string): Promise<Cue[] | null> {
  const [row] = await viewData.query<{ caption_cues: unknown }>(
    `SELECT caption_cues FROM video_catalogue v WHERE v.id = $1 AND ${PUBLIC}`,
    [videoId],
  );
  if (!row) return null;
  return Cues.safeParse(row.caption_cues).data ?? [];
}

/** True when the video was in the catalogue's records and its owner deleted it: its page is gone (410). */
export async function isDeletedVideo(viewData: Queryable, videoId: string): Promise<boolean> {
  const rows = await viewData.query(`SELECT 1 FROM video_catalogue WHERE id = $1 AND deleted_at IS NOT NULL`, [
    videoId,
  ]);
  return rows.length > 0;
}
