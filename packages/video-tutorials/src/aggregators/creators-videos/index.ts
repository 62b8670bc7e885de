import type { Queryable, StoredMessage } from 'message-db-toolkit';
import {
  PublishingRetried,
  PublishingStarted,
  VideoDescribed,
  VideoNamed,
  VideoPublished,
  VideoPublishingFailed,
  videoPublishingCategory,
  VideoTranscoded,
  VideoTranscribed,
  VideoTranscriptionFailed,
} from '../../contracts/video-publishing.js';
import { readKeysetPage, type KeysetPage, type PageRequest } from '../../view-data/keyset-pages.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { OWNER_NAME_COLUMN, OWNER_NAME_JOIN } from '../user-credentials/index.js';
import { listingChangesOf, parsedInItsStream, updateIfNewer, upsertIfNewer } from '../video-rows.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'creators-videos-aggregator',
  subscriptions: { events: { streamName: videoPublishingCategory, subscriberId: 'aggregators:creators-videos' } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `creators_portal_videos`: each owner's videos in every state, for the
 * creators portal. Rows remember the videoPublishing stream position applied.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyPublishingEvents, deps);
}

/** Column updates per event; each runs only if the row has not applied this position yet. */
function changesOf(message: StoredMessage): Record<string, unknown> | null {
  if (VideoTranscoded.is(message)) {
    const { transcodedUri, posterUri, durationSeconds } = VideoTranscoded.parse(message).data;
    return { transcoded_uri: transcodedUri, poster_uri: posterUri, duration_seconds: durationSeconds };
  }
  if (VideoTranscribed.is(message)) return { transcription: VideoTranscribed.parse(message).data.transcription };
  if (VideoTranscriptionFailed.is(message))
    return { transcription_failure: VideoTranscriptionFailed.parse(message).data.reason };
  if (VideoNamed.is(message)) return { name: VideoNamed.parse(message).data.name };
  if (VideoDescribed.is(message)) return { description: VideoDescribed.parse(message).data.description };
  const listing = listingChangesOf(message);
  if (listing)
    return { ...listing, ...(listing.deleted_at ? { transcription_failure: null, failure_reason: null } : {}) };
  return null;
}

export async function applyPublishingEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (PublishingStarted.is(message)) {
      const { videoId, ownerId, sourceUri } = PublishingStarted.parse(message).data;
      await tx.query(
        `INSERT INTO creators_portal_videos (id, owner_id, source_uri, uploaded_at, publishing_position, listed)
         VALUES ($1, $2, $3, $4, $5, false) ON CONFLICT (id) DO NOTHING`,
        [videoId, ownerId, sourceUri, message.time.toISOString(), message.position],
      );
      continue;
    }
    if (VideoPublished.is(message)) {
      const { ownerId, sourceUri, transcodedUri } = parsedInItsStream(VideoPublished, message).data;
      await upsertIfNewer(tx, 'creators_portal_videos', message, {
        owner_id: ownerId,
        source_uri: sourceUri,
        uploaded_at: message.time.toISOString(),
        status: 'published',
        transcoded_uri: transcodedUri,
        published_at: message.time.toISOString(),
      });
      continue;
    }
    if (VideoPublishingFailed.is(message)) {
      const { ownerId, sourceUri, reason } = parsedInItsStream(VideoPublishingFailed, message).data;
      await upsertIfNewer(tx, 'creators_portal_videos', message, {
        owner_id: ownerId,
        source_uri: sourceUri,
        uploaded_at: message.time.toISOString(),
        status: 'failed',
        failure_reason: reason,
      });
      continue;
    }
    if (PublishingRetried.is(message)) {
      // Processing again; a video the book's system failed has its row made public only by its owner from now on.
      const { ownerId, sourceUri } = parsedInItsStream(PublishingRetried, message).data;
      await upsertIfNewer(tx, 'creators_portal_videos', message, {
        owner_id: ownerId,
        source_uri: sourceUri,
        uploaded_at: message.time.toISOString(),
        status: 'processing',
        failure_reason: null,
        listed: false,
      });
      continue;
    }
    const changes = changesOf(message);
    if (!changes) continue;
    await updateIfNewer(tx, 'creators_portal_videos', message, changes);
  }
}

export interface CreatorVideo {
  id: string;
  ownerId: string;
  status: 'processing' | 'published' | 'failed';
  /** Published and listed (by its owner, or as the book showed it): in the catalogue. */
  isPublic: boolean;
  /** Why publishing failed, as recorded: for the admin; the portal shows its owner a sentence made from it. */
  failureReason: string | null;
  name: string;
  description: string;
  /** The upload: kept after a failure for a retry, removed once published (unless `KEEP_UPLOADED_SOURCES`). */
  sourceUri: string;
  /** Where its media is: a storage URI, or (the book's videos) an external URL. */
  transcodedUri: string | null;
  posterUri: string | null;
  transcription: string | null;
  transcriptionFailure: string | null;
  durationSeconds: number | null;
  viewCount: number;
  uploadedAt: Date;
  /** The name its owner gave, for its card; null: none given. */
  ownerDisplayName: string | null;
}

const CREATOR_VIDEO_COLUMNS = `v.id, v.owner_id, v.status, v.listed, v.failure_reason, v.name, v.description,
         v.source_uri, v.transcoded_uri, v.poster_uri, v.transcription, v.transcription_failure, v.duration_seconds,
         COALESCE(c.view_count, 0) AS view_count, v.uploaded_at, ${OWNER_NAME_COLUMN}`;
const CREATOR_VIDEOS = `creators_portal_videos v LEFT JOIN video_view_counts c ON c.video_id = v.id::text
   ${OWNER_NAME_JOIN}`;
const SELECT_CREATOR_VIDEO = `SELECT ${CREATOR_VIDEO_COLUMNS} FROM ${CREATOR_VIDEOS}`;

type CreatorVideoRow = {
  id: string;
  owner_id: string;
  status: CreatorVideo['status'];
  listed: boolean | null;
  failure_reason: string | null;
  name: string;
  description: string;
  source_uri: string;
  transcoded_uri: string | null;
  poster_uri: string | null;
  transcription: string | null;
  transcription_failure: string | null;
  duration_seconds: number | null;
  view_count: string | number;
  uploaded_at: Date | string;
  owner_display_name: string | null;
};

const toCreatorVideo = (row: CreatorVideoRow): CreatorVideo => ({
  id: row.id,
  ownerId: row.owner_id,
  status: row.status,
  isPublic: row.status === 'published' && row.listed !== false,
  failureReason: row.failure_reason,
  name: row.name,
  description: row.description,
  sourceUri: row.source_uri,
  transcodedUri: row.transcoded_uri,
  posterUri: row.poster_uri,
  transcription: row.transcription,
  transcriptionFailure: row.transcription_failure,
  durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
  viewCount: Number(row.view_count),
  uploadedAt: new Date(row.uploaded_at),
  ownerDisplayName: row.owner_display_name,
});

/** An owner's latest videos, the latest upload first: up to 500. */
export async function listVideosOfOwner(viewData: Queryable, ownerId: string): Promise<CreatorVideo[]> {
  return (await pageOfVideosOfOwner(viewData, ownerId, { cursor: null, direction: 'after', size: 500 })).rows;
}

/** A page of an owner's videos, the latest upload first (keyset pagination: see view-data/keyset-pages.ts). */
export async function pageOfVideosOfOwner(
  viewData: Queryable,
  ownerId: string,
  request: PageRequest,
): Promise<KeysetPage<CreatorVideo>> {
  const page = await readKeysetPage<CreatorVideoRow>(
    viewData,
    {
      select: CREATOR_VIDEO_COLUMNS,
      from: `${CREATOR_VIDEOS} WHERE v.owner_id = $1 AND v.deleted_at IS NULL`,
      params: [ownerId],
      at: 'v.uploaded_at',
      id: 'v.id',
    },
    request,
  );
  return { ...page, rows: page.rows.map(toCreatorVideo) };
}

/** The video, only if `ownerId` owns it and has not deleted it: anyone else gets nothing. */
export async function findVideoOfOwner(viewData: Queryable, ownerId: string, videoId: string) {
  const [row] = await viewData.query<CreatorVideoRow>(
    `${SELECT_CREATOR_VIDEO} WHERE v.id = $1 AND v.owner_id = $2 AND v.deleted_at IS NULL`,
    [videoId, ownerId],
  );
  return row ? toCreatorVideo(row) : null;
}

/** True when `ownerId` had this video and deleted it (its page then says so: 410). */
export async function isDeletedVideoOfOwner(viewData: Queryable, ownerId: string, videoId: string) {
  const rows = await viewData.query(
    `SELECT 1 FROM creators_portal_videos WHERE id = $1 AND owner_id = $2 AND deleted_at IS NOT NULL`,
    [videoId, ownerId],
  );
  return rows.length > 0;
}

/** The files each of an owner's videos may have in storage, for the upload quota; and whether it is processing. */
export async function storedFilesOfOwner(
  viewData: Queryable,
  ownerId: string,
): Promise<{ processing: boolean; uris: string[] }[]> {
  const rows = await viewData.query<{
    status: string;
    source_uri: string;
    transcoded_uri: string | null;
    poster_uri: string | null;
  }>(
    `SELECT status, source_uri, transcoded_uri, poster_uri FROM creators_portal_videos
      WHERE owner_id = $1 AND deleted_at IS NULL`,
    [ownerId],
  );
  return rows.map((row) => ({
    processing: row.status === 'processing',
    uris: [row.source_uri, row.transcoded_uri, row.poster_uri].filter((uri): uri is string => uri !== null),
  }));
}
