import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMessageStore, InvalidMessageError, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, handlerSpec, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transcodeCommandStreamName, transcodeStreamName } from '../../contracts/transcode.js';
import { transcribeCommandStreamName, transcribeStreamName } from '../../contracts/transcribe.js';
import {
  VIDEO_DESCRIPTION_MAX_LENGTH,
  VIDEO_NAME_MAX_LENGTH,
  videoPublishingCommandStreamName,
  videoPublishingStreamName,
} from '../../contracts/video-publishing.js';
import { createStorage } from '../../storage.js';
import {
  exampleChoice,
  exampleDescribeVideo,
  exampleNameVideo,
  examplePublishVideo,
  exampleTranscoded,
  exampleVideo,
  playTranscode,
  playTranscribe,
  transcodeAskedFor,
  written,
  type ExampleVideo,
  type OwnersChoice,
} from './controls.js';
import type { Handler } from './handlers.js';
import { transcodeIdFor, transcribeIdFor } from './ids.js';
import { build } from './index.js';
import { handleTwice } from '../../test-support/database.js';

// Every handler is called twice with the same message: the second call must write nothing new.

let test: TestDatabase;
let store: MessageStore;

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterAll(() => test.drop());

const handlers = () => build({ messageStore: store }).handlers;

const eventsOf = (videoId: string) => store.read(videoPublishingStreamName(videoId));
const typesOf = async (videoId: string) => (await eventsOf(videoId)).map((event) => event.type);

/** The last event of the video's stream, which the next step is driven by. */
async function lastEventOf(videoId: string): Promise<StoredMessage> {
  const event = (await eventsOf(videoId)).at(-1);
  if (!event) throw new Error(`no events for video ${videoId}`);
  return event;
}

type Step = 'requested' | 'started' | 'transcoding' | 'transcoded' | 'transcribing' | 'transcribed';

/** Takes a new video through the process, by its handlers, up to and including `step`. */
async function videoAt(step: Step, video: ExampleVideo = exampleVideo()) {
  const { commands, events, transcodeEvents, transcribeEvents } = handlers();
  const { videoId } = video;
  const command = await written(store, videoPublishingCommandStreamName(videoId), examplePublishVideo(video));
  const steps: (() => Promise<unknown>)[] = [
    () => commands.PublishVideo(command),
    async () => events.PublishingStarted(await lastEventOf(videoId)),
    async () => transcodeEvents.Transcoded(await playTranscode(store, videoId, 'transcoded')),
    async () => events.VideoTranscoded(await lastEventOf(videoId)),
    async () => transcribeEvents.Transcribed(await playTranscribe(store, videoId, 'transcribed')),
  ];
  const order: Step[] = ['requested', 'started', 'transcoding', 'transcoded', 'transcribing', 'transcribed'];
  for (const run of steps.slice(0, order.indexOf(step))) await run();
  return { video, videoId, command };
}

describe('the process, handler by handler', () => {
  it('PublishVideo → PublishingStarted, following the command, once', async () => {
    const video = exampleVideo();
    const videoStream = videoPublishingStreamName(video.videoId);

    const {
      outcomes: [first, second],
      message: command,
      streams,
    } = await handlerSpec(store)
      .when(
        videoPublishingCommandStreamName(video.videoId),
        examplePublishVideo(video),
        handlers().commands.PublishVideo,
      )
      .then({ [videoStream]: [{ type: 'PublishingStarted', data: video }] });

    expect(streams[videoStream]![0]).toMatchObject({
      type: 'PublishingStarted',
      data: command.data,
      metadata: {
        traceId: command.metadata.traceId,
        userId: command.data.ownerId,
        causationMessageStreamName: command.streamName,
        causationMessageGlobalPosition: command.globalPosition,
      },
    });
    expect(first).toMatchObject({ kind: 'written', type: 'PublishingStarted', position: 0 });
    expect(second).toEqual({ kind: 'nothing', reason: 'publishing already started' });
  });

  it('PublishingStarted → one Transcode of the upload, on behalf of the video stream', async () => {
    const { video, videoId, command } = await videoAt('started');
    const started = await lastEventOf(videoId);

    const [first, second] = await handleTwice(handlers().events.PublishingStarted, started);

    const transcodeId = transcodeIdFor(videoId);
    const transcodes = await store.read(transcodeCommandStreamName(transcodeId));
    expect(transcodes).toHaveLength(1);
    expect(transcodes[0]).toMatchObject({
      type: 'Transcode',
      data: { transcodeId, uri: video.sourceUri },
      metadata: {
        traceId: command.metadata.traceId,
        originStreamName: videoPublishingStreamName(videoId),
        correlationStreamName: videoPublishingStreamName(videoId),
        causationMessageStreamName: started.streamName,
        causationMessagePosition: started.position,
      },
    });
    expect(first).toMatchObject({ kind: 'written', type: 'Transcode' });
    expect(second).toEqual({ kind: 'nothing', reason: `Transcode ${transcodes[0]?.id} already written` });
    expect(await typesOf(videoId)).toEqual(['PublishingStarted']);
  });

  it('Transcoded → VideoTranscoded in the video stream, once', async () => {
    const { videoId } = await videoAt('transcoding');
    const transcoded = await playTranscode(store, videoId, 'transcoded');

    const [first, second] = await handleTwice(handlers().transcodeEvents.Transcoded, transcoded);

    expect(await typesOf(videoId)).toEqual(['PublishingStarted', 'VideoTranscoded']);
    expect((await lastEventOf(videoId)).data).toEqual({
      videoId,
      transcodeId: transcodeIdFor(videoId),
      transcodedUri: transcoded.data.transcodedUri,
      posterUri: transcoded.data.posterUri,
      durationSeconds: transcoded.data.durationSeconds,
    });
    expect(first).toMatchObject({ kind: 'written', type: 'VideoTranscoded', position: 1 });
    expect(second).toEqual({ kind: 'nothing', reason: 'transcode result not needed: publishing transcoded' });
  });

  it('TranscodeFailed → VideoPublishingFailed with the reason, once; nothing is transcribed', async () => {
    const { video, videoId } = await videoAt('transcoding');
    const failed = await playTranscode(store, videoId, 'failed');

    const [first, second] = await handleTwice(handlers().transcodeEvents.TranscodeFailed, failed);

    const events = await eventsOf(videoId);
    expect(events.map((event) => event.type)).toEqual(['PublishingStarted', 'VideoPublishingFailed']);
    expect(events[1]?.data).toEqual({
      ...video,
      reason: 'transcoding failed: the upload is not a video (corrupt file)',
    });
    expect(first).toMatchObject({ kind: 'written', type: 'VideoPublishingFailed' });
    expect(second).toEqual({ kind: 'nothing', reason: 'transcode result not needed: publishing failed' });
    // A Transcoded arriving after all (a retry in transcode) changes nothing.
    const late = await written(
      store,
      transcodeStreamName(transcodeIdFor(videoId)),
      exampleTranscoded(await transcodeAskedFor(store, videoId)),
    );
    await handleTwice(handlers().transcodeEvents.Transcoded, late);
    expect(await typesOf(videoId)).toEqual(['PublishingStarted', 'VideoPublishingFailed']);
  });

  it('VideoTranscoded → one Transcribe of the transcoded video, on behalf of the video stream', async () => {
    const { videoId } = await videoAt('transcoded');
    const videoTranscoded = await lastEventOf(videoId);

    const [first, second] = await handleTwice(handlers().events.VideoTranscoded, videoTranscoded);

    const transcribeId = transcribeIdFor(videoId);
    const transcribes = await store.read(transcribeCommandStreamName(transcribeId));
    expect(transcribes).toHaveLength(1);
    expect(transcribes[0]).toMatchObject({
      type: 'Transcribe',
      data: { transcribeId, uri: videoTranscoded.data.transcodedUri },
      metadata: {
        originStreamName: videoPublishingStreamName(videoId),
        correlationStreamName: videoPublishingStreamName(videoId),
      },
    });
    expect(first).toMatchObject({ kind: 'written', type: 'Transcribe' });
    expect(second).toMatchObject({ kind: 'nothing' });
  });

  it('Transcribed → VideoTranscribed, once', async () => {
    const { videoId } = await videoAt('transcribing');
    const transcribed = await playTranscribe(store, videoId, 'transcribed');

    const [first, second] = await handleTwice(handlers().transcribeEvents.Transcribed, transcribed);

    expect(await typesOf(videoId)).toEqual(['PublishingStarted', 'VideoTranscoded', 'VideoTranscribed']);
    expect((await lastEventOf(videoId)).data).toEqual({
      videoId,
      transcribeId: transcribeIdFor(videoId),
      transcription: transcribed.data.transcription,
    });
    expect(first).toMatchObject({ kind: 'written', type: 'VideoTranscribed' });
    expect(second).toEqual({ kind: 'nothing', reason: 'transcription already settled' });
  });

  it('TranscribeFailed → VideoTranscriptionFailed, once', async () => {
    const { videoId } = await videoAt('transcribing');
    const failed = await playTranscribe(store, videoId, 'failed');

    const [first, second] = await handleTwice(handlers().transcribeEvents.TranscribeFailed, failed);

    expect(await typesOf(videoId)).toEqual(['PublishingStarted', 'VideoTranscoded', 'VideoTranscriptionFailed']);
    expect((await lastEventOf(videoId)).data).toEqual({
      videoId,
      transcribeId: transcribeIdFor(videoId),
      reason: 'no speech recognized',
    });
    expect(first).toMatchObject({ kind: 'written', type: 'VideoTranscriptionFailed' });
    expect(second).toEqual({ kind: 'nothing', reason: 'transcription already settled' });
  });

  it('VideoTranscribed → VideoPublished with the transcoded video, once', async () => {
    const { video, videoId } = await videoAt('transcribed');
    const transcribed = await lastEventOf(videoId);

    const [first, second] = await handleTwice(handlers().events.VideoTranscribed, transcribed);

    const published = await lastEventOf(videoId);
    expect(await typesOf(videoId)).toEqual([
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscribed',
      'VideoPublished',
    ]);
    expect(published.data).toEqual({ ...video, transcodedUri: `storage:transcoded/${transcodeIdFor(videoId)}.mp4` });
    expect(first).toMatchObject({ kind: 'written', type: 'VideoPublished', position: 3 });
    expect(second).toEqual({ kind: 'nothing', reason: 'publishing already published' });
  });

  it('VideoTranscriptionFailed → VideoPublished all the same, once', async () => {
    const { videoId } = await videoAt('transcribing');
    await handlers().transcribeEvents.TranscribeFailed(await playTranscribe(store, videoId, 'failed'));

    await handleTwice(handlers().events.VideoTranscriptionFailed, await lastEventOf(videoId));

    expect(await typesOf(videoId)).toEqual([
      'PublishingStarted',
      'VideoTranscoded',
      'VideoTranscriptionFailed',
      'VideoPublished',
    ]);
  });

  it('a PublishVideo redelivered, or sent again, after publishing writes nothing', async () => {
    const { video, videoId, command } = await videoAt('transcribed');
    await handlers().events.VideoTranscribed(await lastEventOf(videoId));
    const before = await store.read('$all', { from: 0, max: 100_000 });

    const redelivered = await handleTwice(handlers().commands.PublishVideo, command);
    const again = await written(store, command.streamName, examplePublishVideo(video));
    const sentAgain = await handleTwice(handlers().commands.PublishVideo, again);

    expect([...redelivered, ...sentAgain]).toEqual(
      Array.from({ length: 4 }, () => ({ kind: 'nothing', reason: 'publishing already published' })),
    );
    expect((await store.read('$all', { from: 0, max: 100_000 })).filter((message) => message.id !== again.id)).toEqual(
      before,
    );
  });
});

describe('a stream that changes while a handler decides', () => {
  it('is fetched again and decided again, with what was written meanwhile', async () => {
    const video = exampleVideo();
    const command = await written(store, videoPublishingCommandStreamName(video.videoId), examplePublishVideo(video));
    const naming = await written(store, command.streamName, exampleNameVideo(video, 'Named meanwhile'));
    // A store that lets another instance name the video just before this instance's first write.
    let interfered = false;
    const interfering: MessageStore = {
      ...store,
      async write(streamName, message, expectedVersion) {
        if (!interfered) {
          interfered = true;
          await build({ messageStore: store }).handlers.commands.NameVideo(naming);
        }
        return store.write(streamName, message, expectedVersion);
      },
    };
    const logged: string[] = [];
    const logger = { info: (_: object, text: string) => logged.push(text), warn() {}, error() {} };
    const { commands } = build({ messageStore: interfering, logger }).handlers;

    const [first, second] = await handleTwice(commands.PublishVideo, command);

    expect(await typesOf(video.videoId)).toEqual(['VideoNamed', 'PublishingStarted']);
    expect(first).toMatchObject({ kind: 'written', type: 'PublishingStarted', position: 1 });
    expect(second).toEqual({ kind: 'nothing', reason: 'publishing already started' });
    expect(logged).toEqual(['video-publishing: stream changed while deciding; deciding again']);
  });
});

describe('results video-publishing did not ask for', () => {
  it('are not its business (another origin), or malformed (an origin naming no video)', async () => {
    const { videoId } = await videoAt('transcoding');
    const transcode = await transcodeAskedFor(store, videoId);
    const foreign = await written(store, transcodeStreamName(transcodeIdFor(videoId)), {
      ...exampleTranscoded(transcode),
      metadata: { originStreamName: `catalog-${videoId}` },
    });
    expect(await handleTwice(handlers().transcodeEvents.Transcoded, foreign)).toEqual([
      { kind: 'nothing', reason: 'not a transcode video-publishing asked for' },
      { kind: 'nothing', reason: 'not a transcode video-publishing asked for' },
    ]);
    const broken = await written(store, transcodeStreamName(transcodeIdFor(videoId)), {
      ...exampleTranscoded(transcode),
      metadata: { originStreamName: 'videoPublishing-not-a-uuid' },
    });
    await expect(handlers().transcodeEvents.Transcoded(broken)).rejects.toBeInstanceOf(InvalidMessageError);
    // A transcode of another video, naming this one as its origin.
    const otherTranscodeId = randomUUID();
    const misdirected = await written(store, transcodeStreamName(otherTranscodeId), {
      ...exampleTranscoded({ ...transcode, data: { ...transcode.data, transcodeId: otherTranscodeId } }),
    });
    expect((await handleTwice(handlers().transcodeEvents.Transcoded, misdirected))[0]).toEqual({
      kind: 'nothing',
      reason: 'not the transcode of this video',
    });
    expect(await typesOf(videoId)).toEqual(['PublishingStarted']);
  });

  it('a malformed or misplaced command fails validation (the subscription parks it)', async () => {
    const video = exampleVideo();
    const malformed = await written(store, videoPublishingCommandStreamName(video.videoId), {
      ...examplePublishVideo(video),
      data: { videoId: video.videoId },
    });
    await expect(handlers().commands.PublishVideo(malformed)).rejects.toBeInstanceOf(InvalidMessageError);
    const elsewhere = await written(
      store,
      videoPublishingCommandStreamName(randomUUID()),
      exampleNameVideo(video, 'A name'),
    );
    await expect(handlers().commands.NameVideo(elsewhere)).rejects.toThrow(/expected videoPublishing:command-/);
    expect(await eventsOf(video.videoId)).toHaveLength(0);
  });
});

describe('naming and describing', () => {
  async function name(video: ExampleVideo, text: string) {
    const command = await written(
      store,
      videoPublishingCommandStreamName(video.videoId),
      exampleNameVideo(video, text),
    );
    return { command, outcomes: await handleTwice(handlers().commands.NameVideo, command) };
  }

  async function describeVideo(video: ExampleVideo, text: string) {
    const command = await written(
      store,
      videoPublishingCommandStreamName(video.videoId),
      exampleDescribeVideo(video, text),
    );
    return { command, outcomes: await handleTwice(handlers().commands.DescribeVideo, command) };
  }

  it('a valid name → VideoNamed, following the command, once — at any time, even before publishing', async () => {
    const video = exampleVideo();
    const { command, outcomes } = await name(video, '  Event sourcing, explained  ');

    const events = await eventsOf(video.videoId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'VideoNamed',
      data: { name: 'Event sourcing, explained' },
      metadata: {
        traceId: command.metadata.traceId,
        userId: video.ownerId,
        causationMessageGlobalPosition: command.globalPosition,
      },
    });
    expect(outcomes).toEqual([
      { kind: 'written', streamName: videoPublishingStreamName(video.videoId), type: 'VideoNamed', position: 0 },
      { kind: 'nothing', reason: 'command already handled' },
    ]);
  });

  it('a blank, too long, or unchanged name → VideoNameRejected with the reason, once each', async () => {
    const { video, videoId } = await videoAt('started');
    await name(video, 'Current name');
    await name(video, ' \t ');
    await name(video, 'x'.repeat(VIDEO_NAME_MAX_LENGTH + 1));
    await name(video, 'Current name ');

    const events = (await eventsOf(videoId)).slice(1);
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'VideoNamed', data: { name: 'Current name' } },
      { type: 'VideoNameRejected', data: { name: ' \t ', reason: 'name is blank' } },
      {
        type: 'VideoNameRejected',
        data: { name: 'x'.repeat(VIDEO_NAME_MAX_LENGTH + 1), reason: 'name is longer than 120 characters' },
      },
      {
        type: 'VideoNameRejected',
        data: { name: 'Current name ', reason: 'name is the same as the current name' },
      },
    ]);
  });

  it('replaying an older NameVideo after a newer one does not revert the name', async () => {
    const video = exampleVideo();
    const older = await name(video, 'First name');
    await name(video, 'Second name');

    const replayed = await handleTwice(handlers().commands.NameVideo, older.command);

    expect(replayed).toEqual([
      { kind: 'nothing', reason: 'command already handled' },
      { kind: 'nothing', reason: 'command already handled' },
    ]);
    expect((await eventsOf(video.videoId)).map((event) => event.data)).toEqual([
      { name: 'First name' },
      { name: 'Second name' },
    ]);
  });

  it('describing: VideoDescribed, or VideoDescriptionRejected with the reason; idempotent by position', async () => {
    const video = exampleVideo();
    const first = await describeVideo(video, 'What an event store is.\n');
    await describeVideo(video, '');
    await describeVideo(video, 'y'.repeat(VIDEO_DESCRIPTION_MAX_LENGTH + 1));
    await describeVideo(video, 'What an event store is.');
    await name(video, 'A name');
    await handleTwice(handlers().commands.DescribeVideo, first.command);

    expect((await eventsOf(video.videoId)).map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'VideoDescribed', data: { description: 'What an event store is.' } },
      { type: 'VideoDescriptionRejected', data: { description: '', reason: 'description is blank' } },
      {
        type: 'VideoDescriptionRejected',
        data: {
          description: 'y'.repeat(VIDEO_DESCRIPTION_MAX_LENGTH + 1),
          reason: 'description is longer than 5000 characters',
        },
      },
      {
        type: 'VideoDescriptionRejected',
        data: { description: 'What an event store is.', reason: 'description is the same as the current description' },
      },
      { type: 'VideoNamed', data: { name: 'A name' } },
    ]);
  });
});

describe('replaying every command and event from the start', () => {
  it('changes nothing', async () => {
    const video = exampleVideo();
    const { videoId, command } = await videoAt('transcribed', video);
    const { commands, events, transcodeEvents, transcribeEvents } = handlers();
    await events.VideoTranscribed(await lastEventOf(videoId));
    const naming = await written(store, command.streamName, exampleNameVideo(video));
    await commands.NameVideo(naming);
    const before = await store.read('$all', { from: 0, max: 100_000 });

    await commands.PublishVideo(command);
    await commands.NameVideo(naming);
    for (const event of await eventsOf(videoId)) {
      const handler = events[event.type as keyof typeof events] as Handler | undefined;
      if (handler) await handler(event);
    }
    for (const result of await store.read(transcodeStreamName(transcodeIdFor(videoId))))
      await transcodeEvents.Transcoded(result);
    for (const result of await store.read(transcribeStreamName(transcribeIdFor(videoId))))
      await transcribeEvents.Transcribed(result);

    expect(await store.read('$all', { from: 0, max: 100_000 })).toEqual(before);
  });
});

describe('the owner’s choices, handler by handler', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'video-publishing-choices-'));
  });
  afterAll(() => rm(directory, { recursive: true, force: true }));

  /** A published video, named, through the process's handlers. */
  async function publishedAndNamed() {
    const { video, videoId, command } = await videoAt('transcribed');
    await handlers().events.VideoTranscribed(await lastEventOf(videoId));
    const naming = await written(store, command.streamName, exampleNameVideo(video));
    await handlers().commands.NameVideo(naming);
    return { video, videoId };
  }

  async function choose(video: ExampleVideo, type: OwnersChoice) {
    const command = await written(store, videoPublishingCommandStreamName(video.videoId), exampleChoice(type, video));
    return handleTwice(handlers().commands[type], command);
  }

  it('ListVideo, UnlistVideo: one event each, the second handling nothing; rejected with a reason', async () => {
    const { video, videoId } = await publishedAndNamed();
    const [listed, again] = await choose(video, 'ListVideo');
    expect(listed).toMatchObject({ kind: 'written', type: 'VideoListed' });
    expect(again).toEqual({ kind: 'nothing', reason: 'command already handled' });
    expect((await choose(video, 'ListVideo'))[0]).toMatchObject({ kind: 'written', type: 'VideoListingRejected' });
    expect((await choose(video, 'UnlistVideo'))[0]).toMatchObject({ kind: 'written', type: 'VideoUnlisted' });
    expect((await eventsOf(videoId)).slice(-3).map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'VideoListed', data: { videoId } },
      { type: 'VideoListingRejected', data: { videoId, reason: 'the video is already public' } },
      { type: 'VideoUnlisted', data: { videoId } },
    ]);
  });

  it('two instances racing on one ListVideo write one VideoListed', async () => {
    const { video, videoId } = await publishedAndNamed();
    const command = await written(store, videoPublishingCommandStreamName(videoId), exampleChoice('ListVideo', video));
    const outcomes = await Promise.all([
      handlers().commands.ListVideo(command),
      handlers().commands.ListVideo(command),
      handlers().commands.ListVideo(command),
    ]);
    expect(outcomes.filter((outcome) => outcome.kind === 'written')).toHaveLength(1);
    expect(
      (await typesOf(videoId)).filter((type) => type.startsWith('VideoListing') || type === 'VideoListed'),
    ).toEqual(['VideoListed']);
  });

  it('DeleteVideo → VideoDeleted; handling it removes every file of the video, twice without error', async () => {
    const storage = createStorage(directory);
    const { video, videoId } = await publishedAndNamed();
    const files = [
      video.sourceUri,
      `storage:transcoded/${transcodeIdFor(videoId)}.mp4`,
      `storage:posters/${transcodeIdFor(videoId)}.jpg`,
    ];
    for (const file of files) {
      await mkdir(path.dirname(storage.pathOf(file)), { recursive: true });
      await writeFile(storage.pathOf(file), 'bytes');
    }
    // Another video's files stay.
    const other = storage.pathOf(`storage:transcoded/${randomUUID()}.mp4`);
    await writeFile(other, 'bytes');

    const [deleted, again] = await choose(video, 'DeleteVideo');
    expect(deleted).toMatchObject({ kind: 'written', type: 'VideoDeleted' });
    expect(again).toEqual({ kind: 'nothing', reason: 'command already handled' });
    const event = await lastEventOf(videoId);
    expect(event.data).toEqual({ videoId, ownerId: video.ownerId, files });

    const withStorage = build({ messageStore: store, storage }).handlers;
    const [first, second] = await handleTwice(withStorage.events.VideoDeleted, event);
    expect(first).toEqual({ kind: 'nothing', reason: `removed ${files.join(', ')}` });
    expect(second).toEqual(first);
    expect(files.map((file) => existsSync(storage.pathOf(file)))).toEqual([false, false, false]);
    expect(existsSync(other)).toBe(true);
    // Deleted: nothing else is taken.
    expect((await choose(video, 'ListVideo'))[0]).toMatchObject({ type: 'VideoListingRejected' });
    expect((await typesOf(videoId)).at(-1)).toBe('VideoListingRejected');
  });

  it('a deleted book video’s external media is nobody’s file here; its upload, a storage file, goes', async () => {
    const storage = createStorage(directory);
    const videoId = randomUUID();
    const sourceUri = `storage:uploads/${videoId}.mp4`;
    await mkdir(path.dirname(storage.pathOf(sourceUri)), { recursive: true });
    await writeFile(storage.pathOf(sourceUri), 'bytes');
    const event = await written(store, videoPublishingStreamName(videoId), {
      id: randomUUID(),
      type: 'VideoDeleted',
      data: { videoId, ownerId: randomUUID(), files: [sourceUri, 'https://www.youtube.com/watch?v=GI_P3UtZXAA'] },
    });
    const { events } = build({ messageStore: store, storage }).handlers;
    expect(await handleTwice(events.VideoDeleted, event)).toEqual([
      { kind: 'nothing', reason: `removed ${sourceUri}` },
      { kind: 'nothing', reason: `removed ${sourceUri}` },
    ]);
    expect(existsSync(storage.pathOf(sourceUri))).toBe(false);
  });

  it('a failed video: the upload is kept; RetryPublishing → PublishingRetried → a Transcode of its own, once', async () => {
    const storage = createStorage(directory);
    const { video, videoId } = await videoAt('transcoding');
    await mkdir(path.dirname(storage.pathOf(video.sourceUri)), { recursive: true });
    await writeFile(storage.pathOf(video.sourceUri), 'bytes');
    await handlers().transcodeEvents.TranscodeFailed(await playTranscode(store, videoId, 'failed'));
    const withStorage = build({ messageStore: store, storage }).handlers;
    expect(await handleTwice(withStorage.events.VideoPublishingFailed, await lastEventOf(videoId))).toEqual([
      { kind: 'nothing', reason: 'the source is kept for a retry' },
      { kind: 'nothing', reason: 'the source is kept for a retry' },
    ]);
    expect(existsSync(storage.pathOf(video.sourceUri))).toBe(true);

    const [retried, again] = await choose(video, 'RetryPublishing');
    expect(retried).toMatchObject({ kind: 'written', type: 'PublishingRetried' });
    expect(again).toEqual({ kind: 'nothing', reason: 'command already handled' });
    const [asked, askedAgain] = await handleTwice(handlers().events.PublishingRetried, await lastEventOf(videoId));
    expect(asked).toMatchObject({ kind: 'written', type: 'Transcode' });
    expect(askedAgain).toMatchObject({ kind: 'nothing' });
    const transcodes = await store.read(transcodeCommandStreamName(transcodeIdFor(videoId, 1)));
    expect(transcodes.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'Transcode', data: { transcodeId: transcodeIdFor(videoId, 1), uri: video.sourceUri } },
    ]);
    // The first transcode's stream keeps its one command.
    expect(await store.read(transcodeCommandStreamName(transcodeIdFor(videoId)))).toHaveLength(1);
    expect(await typesOf(videoId)).toEqual(['PublishingStarted', 'VideoPublishingFailed', 'PublishingRetried']);
  });
});
