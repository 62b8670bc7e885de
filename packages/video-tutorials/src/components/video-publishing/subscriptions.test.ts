import { createMessageStore, type MessageStore, type Queryable, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { transcodeCommandStreamName } from '../../contracts/transcode.js';
import { transcribeCommandStreamName } from '../../contracts/transcribe.js';
import { videoPublishingCommandStreamName, videoPublishingStreamName } from '../../contracts/video-publishing.js';
import {
  examplePublishVideo,
  exampleTranscription,
  exampleVideo,
  playTranscode,
  playTranscribe,
  written,
  type ExampleVideo,
} from './controls.js';
import { transcodeIdFor, transcribeIdFor } from './ids.js';
import { build } from './index.js';

type VideoPublishing = ReturnType<typeof build>;

let test: TestDatabase;
let store: MessageStore;
const running: VideoPublishing[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterEach(async () => {
  const pieces = running.splice(0);
  await Promise.all(pieces.map((piece) => piece.stop()));
  // Nothing any test handled failed: every message was handled, none parked.
  for (const piece of pieces)
    for (const subscription of piece.subscriptions) expect(await subscription.parkingLot.list()).toEqual([]);
});
afterAll(() => test.drop());

/** Another store on the same data: a separate pool on PostgreSQL (PGlite has one session in one process). */
const anotherStore = () => (testDatabaseKind === 'postgres' ? createMessageStore({ db: test.connectAgain() }) : store);

async function started(piece: VideoPublishing) {
  running.push(piece);
  await piece.start();
  return piece;
}

/** The last global position of anything but subscriber positions. */
async function lastWritten(db: Queryable): Promise<number> {
  const [row] = await db.query<{ last: string | number | null }>(
    `SELECT max(global_position) AS last FROM message_store.messages
      WHERE message_store.category(stream_name) <> 'subscriberPosition'`,
  );
  return Number(row?.last ?? -1);
}

/**
 * Waits until the pieces have handled everything, including what they wrote themselves on the way (each step
 * of the process is handled by another subscription than the one that wrote it).
 */
async function settledOn(db: Queryable, ...pieces: VideoPublishing[]) {
  for (let last = -1; ;) {
    for (const piece of pieces)
      await Promise.all(piece.subscriptions.map((subscription) => subscription.waitUntilCaughtUp()));
    const now = await lastWritten(db);
    if (now === last) return;
    last = now;
  }
}

const settled = (...pieces: VideoPublishing[]) => settledOn(test.db, ...pieces);

const typesOf = async (videoId: string, messageStore: MessageStore = store) =>
  (await messageStore.read(videoPublishingStreamName(videoId))).map((event) => event.type);

const countIn = async (streamName: string, messageStore: MessageStore = store) =>
  (await messageStore.read(streamName)).length;

const requestPublishing = (video: ExampleVideo, messageStore: MessageStore = store) =>
  written(messageStore, videoPublishingCommandStreamName(video.videoId), examplePublishVideo(video));

describe('the video-publishing component', () => {
  it('is a piece named video-publishing with four subscriptions', () => {
    const piece = build({ messageStore: store });
    expect(piece.name).toBe('video-publishing');
    expect(piece.subscriptions).toHaveLength(4);
    expect(Object.keys(piece.handlers)).toEqual(['commands', 'events', 'transcodeEvents', 'transcribeEvents']);
  });

  it('runs the whole process through its subscriptions: PublishVideo → … → VideoPublished', async () => {
    const piece = await started(build({ messageStore: store }));
    const video = exampleVideo();
    const command = await requestPublishing(video);
    await settled(piece);
    await playTranscode(store, video.videoId, 'transcoded');
    await settled(piece);
    await playTranscribe(store, video.videoId, 'transcribed');
    await settled(piece);

    const events = await store.read(videoPublishingStreamName(video.videoId));
    expect(events.map((event) => event.type)).toEqual([
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscribed',
      'VideoPublished',
    ]);
    expect(events[2]?.data).toMatchObject({ transcription: exampleTranscription });
    expect(events[3]).toMatchObject({
      data: { ...video, transcodedUri: `storage:transcoded/${transcodeIdFor(video.videoId)}.mp4` },
      // The user's request is traced through every step, across both other components.
      metadata: { traceId: command.metadata.traceId, userId: video.ownerId },
    });
  });

  it('a failed transcode (a corrupt upload) → VideoPublishingFailed with the reason; nothing transcribed', async () => {
    const piece = await started(build({ messageStore: store }));
    const video = exampleVideo();
    await requestPublishing(video);
    await settled(piece);
    await playTranscode(store, video.videoId, 'failed');
    await settled(piece);

    const events = await store.read(videoPublishingStreamName(video.videoId));
    expect(events.map((event) => event.type)).toEqual(['PublishingStarted', 'VideoPublishingFailed']);
    expect(events[1]?.data).toEqual({
      ...video,
      reason: 'transcoding failed: the upload is not a video (corrupt file)',
    });
    expect(await countIn(transcribeCommandStreamName(transcribeIdFor(video.videoId)))).toBe(0);
  });

  it('a failed transcription still publishes the video', async () => {
    const piece = await started(build({ messageStore: store }));
    const video = exampleVideo();
    await requestPublishing(video);
    await settled(piece);
    await playTranscode(store, video.videoId, 'transcoded');
    await settled(piece);
    await playTranscribe(store, video.videoId, 'failed');
    await settled(piece);

    expect(await typesOf(video.videoId)).toEqual([
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscriptionFailed',
      'VideoPublished',
    ]);
  });

  it('a PublishVideo written again after publishing writes nothing', async () => {
    const piece = await started(build({ messageStore: store }));
    const video = exampleVideo();
    await requestPublishing(video);
    await settled(piece);
    await playTranscode(store, video.videoId, 'transcoded');
    await settled(piece);
    await playTranscribe(store, video.videoId, 'transcribed');
    await settled(piece);

    await requestPublishing(video);
    await settled(piece);

    expect(await typesOf(video.videoId)).toHaveLength(4);
    expect(await countIn(transcodeCommandStreamName(transcodeIdFor(video.videoId)))).toBe(1);
    expect(await countIn(transcribeCommandStreamName(transcribeIdFor(video.videoId)))).toBe(1);
  });

  it('stopped and started again, resumes from its stored positions', async () => {
    const video = exampleVideo();
    const first = await started(build({ messageStore: store }));
    await requestPublishing(video);
    await settled(first);
    await playTranscode(store, video.videoId, 'transcoded');
    await settled(first);
    await first.stop();

    // Transcription finishes while video-publishing is down.
    await playTranscribe(store, video.videoId, 'transcribed');
    const second = await started(build({ messageStore: store }));
    await settled(second);

    expect(await typesOf(video.videoId)).toEqual([
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscribed',
      'VideoPublished',
    ]);
  });
});

describe('a crash between two steps', () => {
  // A database of its own, so the subscriptions really start from scratch (no stored positions).
  let fresh: TestDatabase;
  let freshStore: MessageStore;
  beforeAll(async () => {
    fresh = await createTestDatabase();
    freshStore = createMessageStore({ db: fresh.db });
  });
  afterAll(() => fresh.drop());

  it('is resumed: starting the subscriptions from scratch does exactly the missing steps, nothing twice', async () => {
    const { commands, events, transcodeEvents } = build({ messageStore: freshStore }).handlers;
    const video = exampleVideo();
    const { videoId } = video;
    const lastEvent = async (): Promise<StoredMessage> =>
      (await freshStore.read(videoPublishingStreamName(videoId))).at(-1)!;
    // Handled by hand up to VideoTranscoded; then the process "crashes" before handling it (no Transcribe).
    await commands.PublishVideo(await requestPublishing(video, freshStore));
    await events.PublishingStarted(await lastEvent());
    await transcodeEvents.Transcoded(await playTranscode(freshStore, videoId, 'transcoded'));
    expect(await typesOf(videoId, freshStore)).toEqual(['PublishingStarted', 'VideoTranscoded']);
    expect(await countIn(transcribeCommandStreamName(transcribeIdFor(videoId)), freshStore)).toBe(0);

    // Started from scratch: every subscription replays its category from the beginning.
    const piece = await started(build({ messageStore: freshStore }));
    await settledOn(fresh.db, piece);
    expect(await countIn(transcribeCommandStreamName(transcribeIdFor(videoId)), freshStore)).toBe(1);
    await playTranscribe(freshStore, videoId, 'transcribed');
    await settledOn(fresh.db, piece);

    expect(await typesOf(videoId, freshStore)).toEqual([
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscribed',
      'VideoPublished',
    ]);
    expect(await countIn(transcodeCommandStreamName(transcodeIdFor(videoId)), freshStore)).toBe(1);
    expect(await countIn(transcribeCommandStreamName(transcribeIdFor(videoId)), freshStore)).toBe(1);
  });
});

describe('two instances of the component', () => {
  it(`handling the same PublishVideo concurrently write one PublishingStarted (${testDatabaseKind})`, async () => {
    const one = build({ messageStore: store });
    const other = build({ messageStore: anotherStore() });
    const videos = Array.from({ length: 20 }, () => exampleVideo());
    const commands = await Promise.all(videos.map((video) => requestPublishing(video)));

    const outcomes = await Promise.all(
      commands.flatMap((command) => [
        one.handlers.commands.PublishVideo(command),
        other.handlers.commands.PublishVideo(command),
        one.handlers.commands.PublishVideo(command),
        other.handlers.commands.PublishVideo(command),
      ]),
    );

    for (const video of videos) expect(await typesOf(video.videoId)).toEqual(['PublishingStarted']);
    expect(outcomes.filter((outcome) => outcome.kind === 'written')).toHaveLength(videos.length);
  });

  it(`running side by side take every video through the process once (${testDatabaseKind})`, async () => {
    const one = await started(build({ messageStore: store }));
    const other = await started(build({ messageStore: anotherStore() }));
    const videos = Array.from({ length: 8 }, () => exampleVideo());
    for (const video of videos) await requestPublishing(video);
    await settled(one, other);
    for (const video of videos) await playTranscode(store, video.videoId, 'transcoded');
    await settled(one, other);
    for (const video of videos) await playTranscribe(store, video.videoId, 'transcribed');
    await settled(one, other);

    for (const video of videos) {
      expect(await typesOf(video.videoId)).toEqual([
        'PublishingStarted',
        'VideoTranscoded',
        'VideoTranscribed',
        'VideoPublished',
      ]);
      expect(await countIn(transcodeCommandStreamName(transcodeIdFor(video.videoId)))).toBe(1);
      expect(await countIn(transcribeCommandStreamName(transcribeIdFor(video.videoId)))).toBe(1);
    }
  });
});
