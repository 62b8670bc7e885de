import { randomUUID } from 'node:crypto';
import type { Queryable } from 'message-db-toolkit';

/**
 * For tests: what the book's own JavaScript system writes when its users watch, publish and name videos,
 * written as it writes it — Message DB's `message_store.write_message` with the message's `data` and
 * `metadata` objects serialized by `JSON.stringify` (so a field that is `undefined` is left out), and no
 * expected version. Nothing of this system's toolkit is in between.
 */
export async function writeAsTheBook(
  db: Queryable,
  streamName: string,
  type: string,
  data: Record<string, unknown>,
  metadata: Record<string, unknown>,
): Promise<{ id: string; globalPosition: number }> {
  const id = randomUUID();
  const [row] = await db.query<{ position: string | number }>(
    'SELECT message_store.write_message($1, $2, $3, $4::jsonb, $5::jsonb) AS position',
    [id, streamName, type, JSON.stringify(data), JSON.stringify(metadata)],
  );
  const [stored] = await db.query<{ global_position: string | number }>(
    'SELECT global_position FROM message_store.messages WHERE id = $1',
    [id],
  );
  if (row === undefined || stored === undefined) throw new Error(`${type} was not written to ${streamName}`);
  return { id, globalPosition: Number(stored.global_position) };
}

/** The book's home page records viewings of its sample video under this id (not a UUID). */
export const BOOK_SAMPLE_VIDEO_ID = '12345';

/** The book's fake transcoding gives every video this URL: a YouTube watch page, not a media file. */
export const BOOK_TRANSCODED_URI = 'https://www.youtube.com/watch?v=GI_P3UtZXAA';

/**
 * The book's record-viewings: `VideoViewed { userId, videoId }` to `viewing-{videoId}` with metadata
 * `{ traceId, userId }`. `videoId` is the URL's, whatever it is; `userId` is the signed-in user's, and
 * absent (left out by JSON) when nobody is signed in.
 */
export const bookRecordsViewing = (db: Queryable, videoId: string, userId?: string) =>
  writeAsTheBook(db, `viewing-${videoId}`, 'VideoViewed', { userId, videoId }, { traceId: randomUUID(), userId });

/**
 * The book's video-publishing, on its `PublishVideo { ownerId, sourceUri, videoId }`: fake transcoding, then
 * `VideoPublished { ownerId, sourceUri, transcodedUri, videoId }` to `videoPublishing-{videoId}`, metadata the
 * command's `{ traceId, userId }`. No step before it is written.
 */
export const bookPublishesVideo = (
  db: Queryable,
  video: { videoId: string; ownerId: string; sourceUri?: string; transcodedUri?: string; traceId?: string },
) =>
  writeAsTheBook(
    db,
    `videoPublishing-${video.videoId}`,
    'VideoPublished',
    {
      ownerId: video.ownerId,
      sourceUri: video.sourceUri ?? 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
      transcodedUri: video.transcodedUri ?? BOOK_TRANSCODED_URI,
      videoId: video.videoId,
    },
    { traceId: video.traceId ?? randomUUID(), userId: video.ownerId },
  );

/** When its transcoding throws: `VideoPublishingFailed { ownerId, sourceUri, videoId, reason }` (the error's message). */
export const bookFailsPublishing = (db: Queryable, video: { videoId: string; ownerId: string; reason: string }) =>
  writeAsTheBook(
    db,
    `videoPublishing-${video.videoId}`,
    'VideoPublishingFailed',
    {
      ownerId: video.ownerId,
      sourceUri: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
      videoId: video.videoId,
      reason: video.reason,
    },
    { traceId: randomUUID(), userId: video.ownerId },
  );

/** On `NameVideo { name, videoId }` with a name: `VideoNamed { name }`, metadata the command's `{ traceId, userId }`. */
export const bookNamesVideo = (
  db: Queryable,
  naming: { videoId: string; userId: string; name: string; traceId: string },
) =>
  writeAsTheBook(
    db,
    `videoPublishing-${naming.videoId}`,
    'VideoNamed',
    { name: naming.name },
    { traceId: naming.traceId, userId: naming.userId },
  );

/**
 * On `NameVideo` with a blank name (validate.js `presence: { allowEmpty: false }`):
 * `VideoNameRejected { name, reason }`, the reason being its ValidationError's message.
 */
export const bookRejectsName = (
  db: Queryable,
  naming: { videoId: string; userId: string; name: string; traceId: string },
) =>
  writeAsTheBook(
    db,
    `videoPublishing-${naming.videoId}`,
    'VideoNameRejected',
    { name: naming.name, reason: `Validation error**${JSON.stringify({ name: ["Name can't be blank"] })}` },
    { traceId: naming.traceId, userId: naming.userId },
  );
