import { randomUUID } from 'node:crypto';
import type { MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PublishingRetried,
  PublishingStarted,
  VideoDeleted,
  VideoDeletionRejected,
  VideoDescribed,
  VideoListed,
  VideoUnlisted,
  VideoNamed,
  VideoNameRejected,
  VideoPublished,
  VideoPublishingFailed,
  videoPublishingStreamName,
  VideoTranscoded,
  VideoTranscribed,
} from '../contracts/video-publishing.js';
import { VideoViewed, viewingStreamName } from '../contracts/viewing.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import * as catalogue from './catalogue/index.js';
import * as creatorsVideos from './creators-videos/index.js';
import * as videoOperations from './video-operations/index.js';
import * as videoViews from './video-views/index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, message: Parameters<MessageStore['write']>[1]): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

async function applyTwice(apply: (m: StoredMessage[], tx: Queryable) => Promise<void>, messages: StoredMessage[]) {
  await test.db.transaction((tx) => apply(messages, tx));
  await test.db.transaction((tx) => apply(messages, tx));
}

async function publishedVideo(ownerId = randomUUID()) {
  const videoId = randomUUID();
  const stream = videoPublishingStreamName(videoId);
  const sourceUri = `storage:uploads/${videoId}.mp4`;
  const transcodedUri = `storage:transcoded/${videoId}.mp4`;
  const traceId = randomUUID();
  const messages = [
    await written(stream, PublishingStarted.create({ ownerId, sourceUri, videoId })),
    await written(stream, VideoNamed.create({ name: 'First name' }, { metadata: { traceId, userId: ownerId } })),
    await written(
      stream,
      VideoTranscoded.create({
        videoId,
        transcodeId: randomUUID(),
        transcodedUri,
        posterUri: `storage:posters/${videoId}.jpg`,
        durationSeconds: 3,
      }),
    ),
    await written(
      stream,
      VideoTranscribed.create({ videoId, transcribeId: randomUUID(), transcription: 'hello world' }),
    ),
    await written(stream, VideoPublished.create({ ownerId, sourceUri, transcodedUri, videoId })),
    await written(stream, VideoDescribed.create({ description: 'About things' })),
    // The owner's choice: public.
    await written(stream, VideoListed.create({ videoId }, { metadata: { traceId: randomUUID(), userId: ownerId } })),
  ];
  return { videoId, ownerId, traceId, sourceUri, transcodedUri, messages };
}

describe('creators-videos aggregator', () => {
  it('follows a video from upload to published, once', async () => {
    const { videoId, ownerId, messages } = await publishedVideo();
    await applyTwice(creatorsVideos.applyPublishingEvents, messages);
    await applyTwice(creatorsVideos.applyPublishingEvents, messages.slice(1, 2)); // an old naming replayed
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, videoId)).toMatchObject({
      status: 'published',
      name: 'First name',
      description: 'About things',
      posterUri: `storage:posters/${videoId}.jpg`,
      transcription: 'hello world',
      durationSeconds: 3,
      viewCount: 0,
    });
    expect(await creatorsVideos.findVideoOfOwner(test.db, randomUUID(), videoId)).toBeNull();
    expect((await creatorsVideos.listVideosOfOwner(test.db, ownerId)).map((video) => video.id)).toEqual([videoId]);
  });

  it('records a failure with its reason', async () => {
    const videoId = randomUUID();
    const ownerId = randomUUID();
    const stream = videoPublishingStreamName(videoId);
    const sourceUri = `storage:uploads/${videoId}.mp4`;
    await applyTwice(creatorsVideos.applyPublishingEvents, [
      await written(stream, PublishingStarted.create({ ownerId, sourceUri, videoId })),
      await written(stream, VideoPublishingFailed.create({ ownerId, sourceUri, videoId, reason: 'Not a video' })),
    ]);
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, videoId)).toMatchObject({
      status: 'failed',
      failureReason: 'Not a video',
    });
  });
});

describe('catalogue aggregator', () => {
  it('shows a video only once it is published and its owner has listed it', async () => {
    const { videoId, messages } = await publishedVideo();
    await applyTwice(catalogue.applyCatalogueEvents, messages.slice(0, 4));
    expect(await catalogue.findPublishedVideo(test.db, videoId)).toBeNull();
    await applyTwice(catalogue.applyCatalogueEvents, messages.slice(0, -1)); // published, named, not listed
    expect(await catalogue.findPublishedVideo(test.db, videoId)).toBeNull();
    expect((await catalogue.listPublishedVideos(test.db)).map((video) => video.id)).not.toContain(videoId);
    await applyTwice(catalogue.applyCatalogueEvents, messages);
    expect(await catalogue.findPublishedVideo(test.db, videoId)).toMatchObject({
      name: 'First name',
      description: 'About things',
      transcription: 'hello world',
      transcodedUri: `storage:transcoded/${videoId}.mp4`,
    });
    expect((await catalogue.listPublishedVideos(test.db)).map((video) => video.id)).toContain(videoId);
  });
});

describe('catalogue aggregator, captions', () => {
  const rowOf = async (videoId: string) =>
    (await test.db.query(`SELECT to_jsonb(v) AS row FROM video_catalogue v WHERE id = $1`, [videoId]))[0];

  it('makes the cues of a transcription with word times, the same however often it is delivered', async () => {
    const { videoId, messages } = await publishedVideo();
    const transcribed = await written(
      videoPublishingStreamName(videoId),
      VideoTranscribed.create({
        videoId,
        transcribeId: randomUUID(),
        transcription: 'hello world <b>bold</b>',
        words: [
          ['hello', 0.33, 0.55],
          ['world', 0.71, 1.05],
          ['<b>bold</b>', 1.1, 1.5],
        ],
      }),
    );
    await test.db.transaction((tx) => catalogue.applyCatalogueEvents([...messages, transcribed], tx));
    const once = await rowOf(videoId);
    expect(await catalogue.findCaptionCues(test.db, videoId)).toEqual([
      { start: 0.33, end: 1.5, lines: ['hello world <b>bold</b>'] },
    ]);
    expect(await catalogue.findPublishedVideo(test.db, videoId)).toMatchObject({
      transcription: 'hello world <b>bold</b>',
    });

    // Delivered again: alone, twice in one batch, and with the whole stream replayed.
    await applyTwice(catalogue.applyCatalogueEvents, [transcribed]);
    await test.db.transaction((tx) => catalogue.applyCatalogueEvents([transcribed, transcribed], tx));
    await applyTwice(catalogue.applyCatalogueEvents, [...messages, transcribed]);
    expect(await rowOf(videoId)).toEqual(once);
  });

  it('has no cues for a transcription written before word times, and none for a video not published', async () => {
    const { videoId, messages } = await publishedVideo();
    await applyTwice(catalogue.applyCatalogueEvents, messages);
    expect(await catalogue.findCaptionCues(test.db, videoId)).toEqual([]);
    expect((await rowOf(videoId))?.row).toMatchObject({ transcription: 'hello world', caption_cues: null });

    const unpublished = await publishedVideo();
    await applyTwice(catalogue.applyCatalogueEvents, unpublished.messages.slice(0, 4));
    expect(await catalogue.findCaptionCues(test.db, unpublished.videoId)).toBeNull();
    expect(await catalogue.findCaptionCues(test.db, randomUUID())).toBeNull();
  });
});

describe('video-operations aggregator', () => {
  it('records the outcome of each request by its trace id, for its user only', async () => {
    const { videoId, ownerId, traceId, messages } = await publishedVideo();
    const rejectedTrace = randomUUID();
    const rejected = await written(
      videoPublishingStreamName(videoId),
      VideoNameRejected.create(
        { name: '', reason: 'A name cannot be blank' },
        { metadata: { traceId: rejectedTrace, userId: ownerId } },
      ),
    );
    await applyTwice(videoOperations.applyOperationOutcomes, [...messages, rejected]);
    expect(await videoOperations.findOperation(test.db, traceId, ownerId)).toEqual({
      traceId,
      videoId,
      succeeded: true,
      failureReason: null,
    });
    expect(await videoOperations.findOperation(test.db, rejectedTrace, ownerId)).toMatchObject({
      succeeded: false,
      failureReason: 'A name cannot be blank',
    });
    expect(await videoOperations.findOperation(test.db, traceId, randomUUID())).toBeNull();
  });
});

describe('the owner’s choices, in the creators portal’s and the catalogue’s View Data', () => {
  const both = async (messages: StoredMessage[]) => {
    await applyTwice(creatorsVideos.applyPublishingEvents, messages);
    await applyTwice(catalogue.applyCatalogueEvents, messages);
  };
  const choice = <M extends { create: (data: { videoId: string }) => Parameters<MessageStore['write']>[1] }>(
    definition: M,
    videoId: string,
  ) => written(videoPublishingStreamName(videoId), definition.create({ videoId }));
  const inCatalogue = async (videoId: string) =>
    (await catalogue.listPublishedVideos(test.db)).some((video) => video.id === videoId) &&
    (await catalogue.findPublishedVideo(test.db, videoId)) !== null;

  it('listed, unlisted and listed again; the portal says whether it is public', async () => {
    const { videoId, ownerId, messages } = await publishedVideo();
    await both(messages);
    expect(await inCatalogue(videoId)).toBe(true);
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, videoId)).toMatchObject({ isPublic: true });
    const unlisted = await choice(VideoUnlisted, videoId);
    await both([...messages, unlisted]);
    expect(await inCatalogue(videoId)).toBe(false);
    expect(await catalogue.findCaptionCues(test.db, videoId)).toBeNull();
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, videoId)).toMatchObject({
      status: 'published',
      isPublic: false,
    });
    const relisted = await choice(VideoListed, videoId);
    await both([unlisted, relisted]);
    await both([unlisted]); // an older event applied again changes nothing
    expect(await inCatalogue(videoId)).toBe(true);
  });

  it('deleted: gone from the catalogue and from its owner’s videos, and no event applied again brings it back', async () => {
    const { videoId, ownerId, sourceUri, transcodedUri, messages } = await publishedVideo();
    const deleted = await written(
      videoPublishingStreamName(videoId),
      VideoDeleted.create({ videoId, ownerId, files: [sourceUri, transcodedUri] }),
    );
    await both([...messages, deleted]);
    await both(messages); // the whole stream again, up to before the deletion
    expect(await inCatalogue(videoId)).toBe(false);
    expect(await catalogue.isDeletedVideo(test.db, videoId)).toBe(true);
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, videoId)).toBeNull();
    expect(await creatorsVideos.listVideosOfOwner(test.db, ownerId)).toEqual([]);
    expect(await creatorsVideos.storedFilesOfOwner(test.db, ownerId)).toEqual([]);
    expect(await creatorsVideos.isDeletedVideoOfOwner(test.db, ownerId, videoId)).toBe(true);
    expect(await creatorsVideos.isDeletedVideoOfOwner(test.db, randomUUID(), videoId)).toBe(false);
    // What the owner made is not kept.
    const [row] = await test.db.query(
      `SELECT name, description, transcription, caption_cues, transcoded_uri FROM video_catalogue WHERE id = $1`,
      [videoId],
    );
    expect(row).toEqual({ name: '', description: '', transcription: null, caption_cues: null, transcoded_uri: null });
  });

  it('a failed video tried again is processing again, its failure cleared', async () => {
    const videoId = randomUUID();
    const ownerId = randomUUID();
    const stream = videoPublishingStreamName(videoId);
    const sourceUri = `storage:uploads/${videoId}.mp4`;
    const messages = [
      await written(stream, PublishingStarted.create({ ownerId, sourceUri, videoId })),
      await written(
        stream,
        VideoPublishingFailed.create({ ownerId, sourceUri, videoId, reason: 'transcoding failed' }),
      ),
      await written(
        stream,
        PublishingRetried.create({ ownerId, sourceUri, videoId, transcodeId: randomUUID(), attempt: 1 }),
      ),
    ];
    await both(messages);
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, videoId)).toMatchObject({
      status: 'processing',
      failureReason: null,
    });
  });

  it('a video the book’s system published is public without a listing; failed by the book and tried again here, it is not', async () => {
    const book = randomUUID();
    const ownerId = randomUUID();
    const sourceUri = 'https://www.youtube.com/watch?v=dQw4w9WgXcQ';
    const transcodedUri = 'https://www.youtube.com/watch?v=GI_P3UtZXAA';
    await both([
      await written(
        videoPublishingStreamName(book),
        VideoPublished.create({ ownerId, sourceUri, transcodedUri, videoId: book }),
      ),
    ]);
    expect(await inCatalogue(book)).toBe(true);
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, book)).toMatchObject({ isPublic: true });

    const retried = randomUUID();
    const stream = videoPublishingStreamName(retried);
    const upload = `storage:uploads/${retried}.mp4`;
    await both([
      await written(
        stream,
        VideoPublishingFailed.create({ ownerId, sourceUri: upload, videoId: retried, reason: 'x' }),
      ),
      await written(
        stream,
        PublishingRetried.create({
          ownerId,
          sourceUri: upload,
          videoId: retried,
          transcodeId: randomUUID(),
          attempt: 1,
        }),
      ),
      await written(stream, VideoPublished.create({ ownerId, sourceUri: upload, transcodedUri, videoId: retried })),
    ]);
    expect(await inCatalogue(retried)).toBe(false);
    expect(await creatorsVideos.findVideoOfOwner(test.db, ownerId, retried)).toMatchObject({
      status: 'published',
      isPublic: false,
    });
  });

  it('video operations: each choice’s outcome, accepted or rejected with its reason, by its trace id', async () => {
    const { videoId, ownerId, sourceUri } = await publishedVideo();
    const accepted = randomUUID();
    const rejected = randomUUID();
    const stream = videoPublishingStreamName(videoId);
    const outcomes = [
      await written(
        stream,
        VideoDeleted.create(
          { videoId, ownerId, files: [sourceUri] },
          { metadata: { traceId: accepted, userId: ownerId } },
        ),
      ),
      await written(
        stream,
        VideoDeletionRejected.create(
          { videoId, reason: 'the video is already deleted' },
          { metadata: { traceId: rejected, userId: ownerId } },
        ),
      ),
    ];
    await applyTwice(videoOperations.applyOperationOutcomes, outcomes);
    expect(await videoOperations.findOperation(test.db, accepted, ownerId)).toEqual({
      traceId: accepted,
      videoId,
      succeeded: true,
      failureReason: null,
    });
    expect(await videoOperations.findOperation(test.db, rejected, ownerId)).toMatchObject({
      succeeded: false,
      failureReason: 'the video is already deleted',
    });
  });
});

describe('video-views aggregator', () => {
  it('counts a video’s views from its viewing stream, replays included', async () => {
    const videoId = randomUUID();
    const views = [];
    for (let view = 0; view < 3; view++)
      views.push(await written(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId })));
    await applyTwice(videoViews.applyViewCounts, views.slice(0, 2));
    await applyTwice(videoViews.applyViewCounts, views);
    await applyTwice(videoViews.applyViewCounts, views.slice(0, 1));
    const [row] = await test.db.query<{ view_count: string | number }>(
      'SELECT view_count FROM video_view_counts WHERE video_id = $1',
      [videoId],
    );
    expect(Number(row?.view_count)).toBe(3);
  });
});
