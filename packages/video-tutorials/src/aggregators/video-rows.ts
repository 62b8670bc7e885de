/**
 * What the aggregators of a video's rows share: `creators_portal_videos` and `video_catalogue` are both kept from
 * the videoPublishing category, one row per video that remembers the stream position it applied.
 */
import { InvalidMessageError, type Queryable, type StoredMessage } from 'message-db-toolkit';
import { VideoDeleted, VideoListed, VideoUnlisted } from '../contracts/video-publishing.js';

/** The tables whose rows are videos, each kept by its own aggregator. */
export type VideoTable = 'creators_portal_videos' | 'video_catalogue';

/**
 * The columns the owner's choices change, the same in both of the videos' tables: listed or not, and deleted —
 * what the owner made goes with the video, and the row stays as a tombstone, so that no event applied again (a
 * `PublishingStarted` inserting, say) brings it back.
 */
export function listingChangesOf(message: StoredMessage): Record<string, unknown> | null {
  if (VideoListed.is(message)) {
    VideoListed.parse(message);
    return { listed: true };
  }
  if (VideoUnlisted.is(message)) {
    VideoUnlisted.parse(message);
    return { listed: false };
  }
  if (VideoDeleted.is(message)) {
    VideoDeleted.parse(message);
    return {
      deleted_at: message.time.toISOString(),
      listed: false,
      name: '',
      description: '',
      transcription: null,
      transcoded_uri: null,
      poster_uri: null,
    };
  }
  return null;
}

/** Columns only a new row takes: a video's owner, source and upload time never change once recorded. */
const SET_ON_INSERT_ONLY = new Set(['owner_id', 'source_uri', 'uploaded_at']);

/**
 * The video's row with `columns` applied, made if there is none yet: the book's system wrote `VideoPublished`
 * (or `VideoPublishingFailed`) without this system's `PublishingStarted` before it. An existing row takes only
 * the columns that are not insert-only, and only if it has not applied this stream position yet.
 */
export async function upsertIfNewer(
  tx: Queryable,
  table: VideoTable,
  message: StoredMessage,
  columns: Record<string, unknown>,
) {
  const names = Object.keys(columns);
  const updates = names.filter((name) => !SET_ON_INSERT_ONLY.has(name));
  await tx.query(
    `INSERT INTO ${table} (id, publishing_position, ${names.join(', ')})
     VALUES ($1, $2, ${names.map((_, index) => `$${index + 3}`).join(', ')})
     ON CONFLICT (id) DO UPDATE SET ${[...updates, 'publishing_position'].map((name) => `${name} = EXCLUDED.${name}`).join(', ')}
     WHERE ${table}.publishing_position < EXCLUDED.publishing_position`,
    [videoIdOf(message), message.position, ...names.map((name) => columns[name])],
  );
}

/**
 * Parsed, and its `data.videoId` the video of the stream it is in (as both systems write it); otherwise it
 * is invalid and parked, so no row is made under one id from a message about another.
 */
export function parsedInItsStream<T extends { videoId: string }>(
  definition: { type: string; parse(message: StoredMessage): StoredMessage<string, T> },
  message: StoredMessage,
): StoredMessage<string, T> {
  const parsed = definition.parse(message);
  if (parsed.data.videoId !== videoIdOf(message))
    throw new InvalidMessageError(definition.type, [
      `data.videoId is not the video of its stream ${message.streamName}`,
    ]);
  return parsed;
}

/** Applies column changes to the row of the message's video unless it already applied that stream position. */
export async function updateIfNewer(
  tx: Queryable,
  table: VideoTable,
  message: StoredMessage,
  changes: Record<string, unknown>,
) {
  const columns = Object.keys(changes);
  const assignments = columns.map((column, index) => `${column} = $${index + 3}`).join(', ');
  await tx.query(
    `UPDATE ${table} SET ${assignments}, publishing_position = $2
      WHERE id = $1 AND publishing_position < $2`,
    [videoIdOf(message), message.position, ...columns.map((column) => changes[column])],
  );
}

/** `videoPublishing-{videoId}` → videoId. */
export function videoIdOf(message: StoredMessage): string {
  return message.streamName.slice(message.streamName.indexOf('-') + 1);
}
