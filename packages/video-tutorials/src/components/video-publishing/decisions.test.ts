import type { StoredMessage } from 'message-db-toolkit';
import { v5 as uuidV5 } from 'uuid';
import { decisionSpec } from 'message-db-toolkit/controls';
import { describe, expect, it } from 'vitest';
import { transcodeCommandStreamName, transcodeStreamName } from '../../contracts/transcode.js';
import { transcribeCommandStreamName, transcribeStreamName } from '../../contracts/transcribe.js';
import {
  DeleteVideo,
  DescribeVideo,
  ListVideo,
  NameVideo,
  PublishingRetried,
  PublishingStarted,
  PublishVideo,
  RetryPublishing,
  UnlistVideo,
  VideoPublishingFailed,
  VIDEO_DESCRIPTION_MAX_LENGTH,
  VIDEO_NAME_MAX_LENGTH,
  VideoNamed,
  VideoPublished,
  videoPublishingCommandStreamName,
  videoPublishingStreamName,
  VideoTranscoded,
  VideoTranscribed,
  VideoTranscriptionFailed,
} from '../../contracts/video-publishing.js';
import { Transcoded, TranscodeFailed } from '../../contracts/transcode.js';
import { Transcribed, TranscribeFailed } from '../../contracts/transcribe.js';
import {
  exampleChoice,
  exampleDescribeVideo,
  exampleNameVideo,
  examplePublishVideo,
  exampleTranscodeFailed,
  exampleTranscoded,
  exampleTranscribed,
  exampleTranscribeFailed,
  exampleTranscription,
  exampleVideo,
  exampleWords,
  project,
  stored,
  type OwnersChoice,
} from './controls.js';
import {
  decideDeletion,
  decideDescribing,
  decideListing,
  decideNaming,
  decidePublished,
  decidePublishingFailed,
  decidePublishingStart,
  decideTranscode,
  decideTranscribe,
  decideRetry,
  decideTranscriptionFailed,
  decideUnlisting,
  decideVideoTranscoded,
  decideVideoTranscribed,
  textProblem,
  type Decision,
} from './decisions.js';
import { MESSAGE_ID_NAMESPACE, TRANSCODE_ID_NAMESPACE, transcodeIdFor, transcribeIdFor } from './ids.js';
import { initialVideo, videoProjection, type Video } from './video.js';

// Given/when/then over pure functions: the video's events → the projected video → a decision.

const video = exampleVideo();
const { videoId } = video;
const videoStream = videoPublishingStreamName(videoId);
const commandStream = videoPublishingCommandStreamName(videoId);
const given = (events: StoredMessage[]): Video => project(videoProjection, events);

function writes(decision: Decision) {
  if (decision.kind !== 'write') throw new Error(`expected a write, got nothing: ${decision.reason}`);
  return decision;
}

/** The whole process decided step by step, each decision's message stored where it was written. */
function theProcess(transcription: 'transcribed' | 'failed' = 'transcribed') {
  const command = PublishVideo.parse(stored(examplePublishVideo(video), commandStream, 0, 100));
  const started = PublishingStarted.parse(
    stored(writes(decidePublishingStart(given([]), command)).message, videoStream, 0, 101),
  );
  const transcode = stored(writes(decideTranscode(given([started]), started)).message, 'transcode:command-x', 0, 102);
  const transcoded = Transcoded.parse(
    stored(exampleTranscoded(transcode), transcodeStreamName(transcodeIdFor(videoId)), 0, 103),
  );
  const videoTranscoded = VideoTranscoded.parse(
    stored(writes(decideVideoTranscoded(given([started]), videoId, transcoded)).message, videoStream, 1, 104),
  );
  const transcribe = stored(
    writes(decideTranscribe(given([started, videoTranscoded]), videoTranscoded)).message,
    'transcribe:command-x',
    0,
    105,
  );
  const result = stored(
    transcription === 'transcribed' ? exampleTranscribed(transcribe) : exampleTranscribeFailed(transcribe),
    transcribeStreamName(transcribeIdFor(videoId)),
    0,
    106,
  );
  const settledDecision =
    transcription === 'transcribed'
      ? decideVideoTranscribed(given([started, videoTranscoded]), videoId, Transcribed.parse(result))
      : decideTranscriptionFailed(given([started, videoTranscoded]), videoId, TranscribeFailed.parse(result));
  const settled = stored(writes(settledDecision).message, videoStream, 2, 107);
  return { command, started, transcode, transcoded, videoTranscoded, transcribe, result, settled };
}

describe('the video projection', () => {
  it('starts with nothing and follows the process to published', () => {
    expect(given([])).toEqual(initialVideo());
    const { started, videoTranscoded, settled } = theProcess();
    expect(given([started])).toMatchObject({ status: 'started', ownerId: video.ownerId, sourceUri: video.sourceUri });
    expect(given([started, videoTranscoded])).toMatchObject({
      status: 'transcoded',
      transcodedUri: `storage:transcoded/${transcodeIdFor(videoId)}.mp4`,
      posterUri: `storage:posters/${transcodeIdFor(videoId)}.jpg`,
      durationSeconds: 61.5,
      transcription: null,
    });
    const decision = writes(
      decidePublished(given([started, videoTranscoded, settled]), VideoTranscribed.parse(settled)),
    );
    const published = stored(decision.message, videoStream, 3);
    expect(given([started, videoTranscoded, settled, published])).toEqual({
      ...initialVideo(),
      status: 'published',
      ownerId: video.ownerId,
      sourceUri: video.sourceUri,
      transcodedUri: `storage:transcoded/${transcodeIdFor(videoId)}.mp4`,
      posterUri: `storage:posters/${transcodeIdFor(videoId)}.jpg`,
      durationSeconds: 61.5,
      transcription: 'Hello, and welcome to this video about event sourcing.',
    });
  });

  it('reads a stream written by the book’s system: VideoPublished alone, naming without causation', () => {
    const published = stored(
      VideoPublished.create({ ...video, transcodedUri: 'https://example.com/video.mp4' }),
      videoStream,
      0,
      500,
    );
    const named = stored(VideoNamed.create({ name: 'Old name' }, { metadata: { traceId: 'x' } }), videoStream, 1, 510);
    expect(given([published, named])).toMatchObject({ status: 'published', name: 'Old name', namingPosition: 510 });
  });

  it('remembers the global position of the last naming and describing command it answered', () => {
    const naming = NameVideo.parse(stored(exampleNameVideo(video), commandStream, 3, 300));
    const describing = DescribeVideo.parse(stored(exampleDescribeVideo(video), commandStream, 4, 310));
    const named = stored(writes(decideNaming(given([]), naming)).message, videoStream, 0, 320);
    const described = stored(writes(decideDescribing(given([named]), describing)).message, videoStream, 1, 330);
    expect(given([named, described])).toMatchObject({
      name: 'Event sourcing in ten minutes',
      description: 'What an event store is, and why.',
      namingPosition: 300,
      describingPosition: 310,
    });
    // Caused by a command of another video's stream: no command recorded.
    const foreign = stored(
      { ...named, metadata: { ...named.metadata, causationMessageStreamName: 'x-1' } },
      videoStream,
      0,
    );
    expect(given([foreign]).namingPosition).toBe(-1);
  });
});

describe('the process, step by step', () => {
  it('1. PublishVideo → PublishingStarted, following the command, with an id derived from it', () => {
    const { command, started } = theProcess();
    expect(started).toMatchObject({
      id: uuidV5(`${command.id}/PublishingStarted`, MESSAGE_ID_NAMESPACE),
      data: video,
      metadata: {
        traceId: command.metadata.traceId,
        userId: video.ownerId,
        causationMessageStreamName: commandStream,
        causationMessagePosition: 0,
        causationMessageGlobalPosition: 100,
      },
    });
    for (const status of [[started], [started, theProcess().videoTranscoded]])
      expect(decidePublishingStart(given(status), command)).toMatchObject({ kind: 'nothing' });
  });

  it('2. PublishingStarted → Transcode of the upload, on behalf of the video stream, even when the cause correlates elsewhere', () => {
    const { started } = theProcess();
    const correlated = PublishingStarted.parse({
      ...started,
      metadata: {
        ...started.metadata,
        correlationStreamName: 'creatorsPortal-1',
        originStreamName: 'creatorsPortal-1',
      },
    });
    const transcodeId = uuidV5(videoId, TRANSCODE_ID_NAMESPACE);
    const decision = writes(decideTranscode(given([started]), correlated));
    expect(decision).toEqual({
      kind: 'write',
      streamName: transcodeCommandStreamName(transcodeId),
      message: {
        id: uuidV5(`${started.id}/Transcode`, MESSAGE_ID_NAMESPACE),
        type: 'Transcode',
        data: { transcodeId, uri: video.sourceUri },
        metadata: {
          traceId: started.metadata.traceId,
          userId: video.ownerId,
          originStreamName: videoStream,
          correlationStreamName: videoStream,
          causationMessageStreamName: videoStream,
          causationMessagePosition: 0,
          causationMessageGlobalPosition: 101,
        },
      },
    });
    expect(decideTranscode(given([]), started)).toMatchObject({ kind: 'nothing' });
  });

  it('3. Transcoded → VideoTranscoded; TranscodeFailed → VideoPublishingFailed with the reason; only for this video’s transcode, only while started', () => {
    const { started, transcode, transcoded, videoTranscoded } = theProcess();
    expect(videoTranscoded.data).toEqual({
      videoId,
      transcodeId: transcodeIdFor(videoId),
      transcodedUri: transcoded.data.transcodedUri,
      posterUri: transcoded.data.posterUri,
      durationSeconds: 61.5,
    });
    expect(videoTranscoded.metadata).toMatchObject({ traceId: started.metadata.traceId, userId: video.ownerId });

    const failed = TranscodeFailed.parse(stored(exampleTranscodeFailed(transcode), 'transcode-x', 0));
    expect(writes(decidePublishingFailed(given([started]), videoId, failed)).message).toMatchObject({
      type: 'VideoPublishingFailed',
      data: { ...video, reason: 'transcoding failed: the upload is not a video (corrupt file)' },
    });

    const otherVideo = exampleVideo().videoId;
    expect(decideVideoTranscoded(given([started]), otherVideo, transcoded)).toEqual({
      kind: 'nothing',
      reason: 'not the transcode of this video',
    });
    expect(decidePublishingFailed(given([started, videoTranscoded]), videoId, failed)).toEqual({
      kind: 'nothing',
      reason: 'transcode result not needed: publishing transcoded',
    });
    expect(decideVideoTranscoded(given([]), videoId, transcoded)).toMatchObject({ kind: 'nothing' });
  });

  it('4. VideoTranscoded → Transcribe of the transcoded video, on behalf of the video stream', () => {
    const { started, videoTranscoded, transcribe, settled } = theProcess();
    expect(transcribe).toMatchObject({
      id: uuidV5(`${videoTranscoded.id}/Transcribe`, MESSAGE_ID_NAMESPACE),
      type: 'Transcribe',
      data: { transcribeId: transcribeIdFor(videoId), uri: videoTranscoded.data.transcodedUri },
      metadata: { originStreamName: videoStream, correlationStreamName: videoStream },
    });
    expect(writes(decideTranscribe(given([started, videoTranscoded]), videoTranscoded)).streamName).toBe(
      transcribeCommandStreamName(transcribeIdFor(videoId)),
    );
    expect(decideTranscribe(given([started, videoTranscoded, settled]), videoTranscoded)).toEqual({
      kind: 'nothing',
      reason: 'transcription already settled',
    });
  });

  it('5. Transcribed → VideoTranscribed; TranscribeFailed → VideoTranscriptionFailed; once', () => {
    const transcribed = theProcess('transcribed');
    expect(transcribed.settled).toMatchObject({
      type: 'VideoTranscribed',
      data: { videoId, transcribeId: transcribeIdFor(videoId), transcription: exampleTranscription },
    });
    const failed = theProcess('failed');
    expect(failed.settled).toMatchObject({
      type: 'VideoTranscriptionFailed',
      data: { videoId, transcribeId: transcribeIdFor(videoId), reason: 'no speech recognized' },
    });
    const { started, videoTranscoded, settled, result } = transcribed;
    expect(
      decideVideoTranscribed(given([started, videoTranscoded, settled]), videoId, Transcribed.parse(result)),
    ).toEqual({ kind: 'nothing', reason: 'transcription already settled' });
  });

  it('5a. copies the words with their times when Transcribed has them, and has none when it has none', () => {
    const { started, videoTranscoded, transcribe } = theProcess('transcribed');
    const decide = (result: ReturnType<typeof exampleTranscribed>) =>
      writes(
        decideVideoTranscribed(
          given([started, videoTranscoded]),
          videoId,
          Transcribed.parse(stored(result, transcribeStreamName(transcribeIdFor(videoId)), 0, 106)),
        ),
      ).message;
    expect(decide(exampleTranscribed(transcribe, exampleTranscription, exampleWords)).data).toEqual({
      videoId,
      transcribeId: transcribeIdFor(videoId),
      transcription: exampleTranscription,
      words: exampleWords,
    });
    expect(decide(exampleTranscribed(transcribe)).data).not.toHaveProperty('words');
  });

  it('6. VideoTranscribed or VideoTranscriptionFailed → VideoPublished, once', () => {
    for (const outcome of ['transcribed', 'failed'] as const) {
      const { started, videoTranscoded, settled } = theProcess(outcome);
      const event =
        outcome === 'transcribed' ? VideoTranscribed.parse(settled) : VideoTranscriptionFailed.parse(settled);
      const published = writes(decidePublished(given([started, videoTranscoded, settled]), event));
      expect(published.message).toMatchObject({
        type: 'VideoPublished',
        data: { ...video, transcodedUri: videoTranscoded.data.transcodedUri },
      });
      const all = [started, videoTranscoded, settled, stored(published.message, videoStream, 3)];
      expect(decidePublished(given(all), event)).toEqual({ kind: 'nothing', reason: 'publishing already published' });
      expect(decidePublished(given([started, videoTranscoded]), event)).toEqual({
        kind: 'nothing',
        reason: 'transcription not settled',
      });
    }
  });
});

describe('naming and describing', () => {
  const naming = decisionSpec(videoProjection, decideNaming);
  const nameAt = (globalPosition: number, name: string) =>
    NameVideo.parse(stored(exampleNameVideo(video, name), commandStream, globalPosition - 1000, globalPosition));

  it('the rules: not blank, not too long (in characters), not the same as now', () => {
    expect(textProblem('name', '   ', null, VIDEO_NAME_MAX_LENGTH)).toBe('name is blank');
    expect(textProblem('name', 'x'.repeat(VIDEO_NAME_MAX_LENGTH + 1), null, VIDEO_NAME_MAX_LENGTH)).toBe(
      'name is longer than 120 characters',
    );
    expect(textProblem('name', '🎬'.repeat(VIDEO_NAME_MAX_LENGTH), null, VIDEO_NAME_MAX_LENGTH)).toBeNull();
    expect(textProblem('name', ` ${'x'.repeat(VIDEO_NAME_MAX_LENGTH)} `, null, VIDEO_NAME_MAX_LENGTH)).toBeNull();
    expect(textProblem('name', ' Same ', 'Same', VIDEO_NAME_MAX_LENGTH)).toBe('name is the same as the current name');
    expect(
      textProblem('description', 'x'.repeat(VIDEO_DESCRIPTION_MAX_LENGTH + 1), null, VIDEO_DESCRIPTION_MAX_LENGTH),
    ).toBe('description is longer than 5000 characters');
  });

  it('NameVideo → VideoNamed with the trimmed name; a broken rule → VideoNameRejected with the name as sent', () => {
    naming
      .given()
      .when(nameAt(1100, '  A good name '))
      .then(videoStream, { type: 'VideoNamed', data: { name: 'A good name' } });
    naming
      .given()
      .when(nameAt(1100, ' '))
      .then(videoStream, { type: 'VideoNameRejected', data: { name: ' ', reason: 'name is blank' } });
  });

  it('a naming command at or before the last one answered is not decided again', () => {
    const first = nameAt(1100, 'First');
    const second = nameAt(1200, 'Second');
    const named = stored(naming.given().when(first).then(videoStream, 'VideoNamed').message, videoStream, 0, 1150);
    const renamed = stored(
      naming.given(named).when(second).then(videoStream, 'VideoNamed').message,
      videoStream,
      1,
      1250,
    );
    expect(given([named, renamed]).name).toBe('Second');
    naming.given(named, renamed).when(first).thenNothing('command already handled');
    naming.given(named, renamed).when(second).thenNothing('command already handled');
    // A rejection answers its command too.
    const blank = nameAt(1300, '');
    const rejected = stored(
      naming.given(named, renamed).when(blank).then(videoStream, 'VideoNameRejected').message,
      videoStream,
      2,
      1350,
    );
    expect(decideNaming(given([named, renamed, rejected]), blank)).toMatchObject({ kind: 'nothing' });
  });

  it('naming and describing keep their own positions', () => {
    const naming = nameAt(1200, 'A name');
    const named = stored(writes(decideNaming(given([]), naming)).message, videoStream, 0, 1250);
    const describing = DescribeVideo.parse(stored(exampleDescribeVideo(video), commandStream, 100, 1100));
    expect(writes(decideDescribing(given([named]), describing)).message).toMatchObject({ type: 'VideoDescribed' });
  });
});

describe('the owner’s choices', () => {
  /** The video's events up to published (transcribed), and its name if `named`. */
  function publishedVideo({ named = true } = {}) {
    const { started, videoTranscoded, settled } = theProcess();
    const published = stored(
      writes(decidePublished(given([started, videoTranscoded, settled]), VideoTranscribed.parse(settled))).message,
      videoStream,
      3,
      108,
    );
    const events = [started, videoTranscoded, settled, published];
    if (named)
      events.push(stored(writes(decideNaming(given(events), nameAt(109, 'A name'))).message, videoStream, 4, 110));
    return events;
  }
  const nameAt = (globalPosition: number, name: string) =>
    NameVideo.parse(stored(exampleNameVideo(video, name), commandStream, globalPosition - 100, globalPosition));

  let commandPosition = 2000;
  /** The owner's choice as stored in the command stream, each later than the one before. */
  function storedChoice(type: OwnersChoice) {
    commandPosition += 10;
    return stored(exampleChoice(type, video), commandStream, commandPosition - 1000, commandPosition);
  }
  const choice = {
    ListVideo: () => ListVideo.parse(storedChoice('ListVideo')),
    UnlistVideo: () => UnlistVideo.parse(storedChoice('UnlistVideo')),
    DeleteVideo: () => DeleteVideo.parse(storedChoice('DeleteVideo')),
    RetryPublishing: () => RetryPublishing.parse(storedChoice('RetryPublishing')),
  };
  const decide = {
    ListVideo: (events: StoredMessage[]) => decideListing(given(events), choice.ListVideo()),
    UnlistVideo: (events: StoredMessage[]) => decideUnlisting(given(events), choice.UnlistVideo()),
    DeleteVideo: (events: StoredMessage[]) => decideDeletion(given(events), choice.DeleteVideo()),
    RetryPublishing: (events: StoredMessage[]) => decideRetry(given(events), choice.RetryPublishing()),
  };
  /** The decision's event stored after `events`: the history goes on. */
  const after = (events: StoredMessage[], decision: Decision) => [
    ...events,
    stored(writes(decision).message, videoStream, events.length, commandPosition + 5),
  ];
  const rejection = (decision: Decision) => {
    const { message } = writes(decision);
    return { type: message.type, reason: message.data.reason };
  };

  it('ListVideo → VideoListed, following the command: only a published video with a name', () => {
    const command = choice.ListVideo();
    const decision = writes(decideListing(given(publishedVideo()), command));
    expect(decision).toEqual({
      kind: 'write',
      streamName: videoStream,
      message: {
        id: uuidV5(`${command.id}/VideoListed`, MESSAGE_ID_NAMESPACE),
        type: 'VideoListed',
        data: { videoId },
        metadata: {
          traceId: command.metadata.traceId,
          userId: video.ownerId,
          causationMessageStreamName: commandStream,
          causationMessagePosition: command.position,
          causationMessageGlobalPosition: command.globalPosition,
        },
      },
    });
    expect(given([...publishedVideo(), stored(decision.message, videoStream, 5, 3000)]).listed).toBe(true);

    const { started, videoTranscoded } = theProcess();
    expect(rejection(decide.ListVideo([]))).toEqual({ type: 'VideoListingRejected', reason: 'there is no such video' });
    expect(rejection(decide.ListVideo([started, videoTranscoded]))).toEqual({
      type: 'VideoListingRejected',
      reason: 'the video is still being prepared',
    });
    expect(rejection(decide.ListVideo(publishedVideo({ named: false })))).toEqual({
      type: 'VideoListingRejected',
      reason: 'the video needs a name before it can be public',
    });
    const listed = after(publishedVideo(), decide.ListVideo(publishedVideo()));
    expect(rejection(decide.ListVideo(listed))).toEqual({
      type: 'VideoListingRejected',
      reason: 'the video is already public',
    });
  });

  it('UnlistVideo → VideoUnlisted, only when public; listed again after', () => {
    expect(rejection(decide.UnlistVideo(publishedVideo()))).toEqual({
      type: 'VideoUnlistingRejected',
      reason: 'the video is not public',
    });
    const listed = after(publishedVideo(), decide.ListVideo(publishedVideo()));
    const unlisted = after(listed, decide.UnlistVideo(listed));
    expect(unlisted.at(-1)).toMatchObject({ type: 'VideoUnlisted', data: { videoId } });
    expect(given(unlisted).listed).toBe(false);
    expect(writes(decide.ListVideo(unlisted)).message.type).toBe('VideoListed');
  });

  it('a video the book’s system published is public as the book showed it, named or not, until its owner unlists it', () => {
    const published = stored(
      VideoPublished.create({ ...video, transcodedUri: 'https://example.com/video.mp4' }),
      videoStream,
      0,
      500,
    );
    expect(given([published]).listed).toBe(true);
    expect(rejection(decide.ListVideo([published])).reason).toBe('the video is already public');
    const unlisted = after([published], decide.UnlistVideo([published]));
    expect(given(unlisted).listed).toBe(false);
    // Listed again, it is the owner's choice now, and that needs a name.
    expect(rejection(decide.ListVideo(unlisted)).reason).toBe('the video needs a name before it can be public');
  });

  it('a choice is answered once: at or before the last one answered (accepted or rejected), nothing', () => {
    const events = publishedVideo();
    const command = choice.ListVideo();
    const listed = [...events, stored(writes(decideListing(given(events), command)).message, videoStream, 5, 3000)];
    expect(decideListing(given(listed), command)).toEqual({ kind: 'nothing', reason: 'command already handled' });
    const unlist = choice.UnlistVideo();
    const rejected = [
      ...listed,
      stored(writes(decideUnlisting(given(publishedVideo()), unlist)).message, videoStream, 6, 3010),
    ];
    expect(rejected.at(-1)?.type).toBe('VideoUnlistingRejected');
    expect(decideUnlisting(given(rejected), unlist)).toEqual({ kind: 'nothing', reason: 'command already handled' });
    // An older command replayed after a newer one was answered changes nothing either.
    expect(decideListing(given(rejected), command)).toEqual({ kind: 'nothing', reason: 'command already handled' });
  });

  it('DeleteVideo → VideoDeleted naming its files; then nothing more can be done to it', () => {
    const { started, videoTranscoded } = theProcess();
    expect(rejection(decide.DeleteVideo([started, videoTranscoded]))).toEqual({
      type: 'VideoDeletionRejected',
      reason: 'the video is still being prepared: delete it once it is ready or has failed',
    });
    const listed = after(publishedVideo(), decide.ListVideo(publishedVideo()));
    const deleted = after(listed, decide.DeleteVideo(listed));
    expect(deleted.at(-1)).toMatchObject({
      type: 'VideoDeleted',
      data: {
        videoId,
        ownerId: video.ownerId,
        files: [
          video.sourceUri,
          `storage:transcoded/${transcodeIdFor(videoId)}.mp4`,
          `storage:posters/${transcodeIdFor(videoId)}.jpg`,
        ],
      },
    });
    expect(given(deleted)).toMatchObject({ status: 'deleted', listed: false });
    for (const type of ['ListVideo', 'UnlistVideo', 'DeleteVideo', 'RetryPublishing'] as const)
      expect(rejection(decide[type](deleted)).reason).toBe('the video is deleted');
    expect(rejection(decideNaming(given(deleted), nameAt(5000, 'New name')))).toEqual({
      type: 'VideoNameRejected',
      reason: 'the video is deleted',
    });
    const describing = DescribeVideo.parse(stored(exampleDescribeVideo(video), commandStream, 4000, 5010));
    expect(rejection(decideDescribing(given(deleted), describing)).reason).toBe('the video is deleted');
    const republish = PublishVideo.parse(stored(examplePublishVideo(video), commandStream, 4001, 5020));
    expect(decidePublishingStart(given(deleted), republish)).toEqual({
      kind: 'nothing',
      reason: 'publishing already deleted',
    });
  });

  it('a failed video: RetryPublishing → PublishingRetried as a new transcode; results of the old one do nothing', () => {
    const { started, transcode, transcoded } = theProcess();
    expect(rejection(decide.RetryPublishing(publishedVideo()))).toEqual({
      type: 'PublishingRetryRejected',
      reason: 'only a video that failed can be tried again',
    });
    const failedOnce = TranscodeFailed.parse(stored(exampleTranscodeFailed(transcode), 'transcode-x', 0, 150));
    const failed = [
      started,
      stored(writes(decidePublishingFailed(given([started]), videoId, failedOnce)).message, videoStream, 1, 151),
    ];
    expect(rejection(decide.ListVideo(failed)).reason).toBe('the video could not be prepared, so it cannot be public');

    const retried = after(failed, decide.RetryPublishing(failed));
    const retry = PublishingRetried.parse(retried.at(-1)!);
    const secondTranscodeId = transcodeIdFor(videoId, 1);
    expect(secondTranscodeId).not.toBe(transcodeIdFor(videoId));
    expect(retry.data).toEqual({ ...video, transcodeId: secondTranscodeId, attempt: 1 });
    expect(given(retried)).toMatchObject({ status: 'started', attempt: 1, publishingFailure: null });

    // The retry asks for its own transcode; the upload's own PublishingStarted, replayed, asks for nothing.
    expect(writes(decideTranscode(given(retried), retry))).toMatchObject({
      streamName: transcodeCommandStreamName(secondTranscodeId),
      message: { type: 'Transcode', data: { transcodeId: secondTranscodeId, uri: video.sourceUri } },
    });
    expect(decideTranscode(given(retried), started)).toEqual({
      kind: 'nothing',
      reason: 'an earlier attempt: publishing waits for attempt 1',
    });
    // A late result of the first transcode is not this attempt's.
    expect(decideVideoTranscoded(given(retried), videoId, transcoded)).toEqual({
      kind: 'nothing',
      reason: 'not the transcode of this video',
    });
    const secondTranscode = stored(
      writes(decideTranscode(given(retried), retry)).message,
      'transcode:command-y',
      0,
      4000,
    );
    const secondTranscoded = Transcoded.parse(stored(exampleTranscoded(secondTranscode), 'transcode-y', 0, 4001));
    expect(writes(decideVideoTranscoded(given(retried), videoId, secondTranscoded)).message).toMatchObject({
      type: 'VideoTranscoded',
      data: { transcodeId: secondTranscodeId, transcodedUri: `storage:transcoded/${secondTranscodeId}.mp4` },
    });
    // Failed again: tried again as a third transcode.
    const secondFailure = TranscodeFailed.parse(
      stored(exampleTranscodeFailed(secondTranscode), 'transcode-y', 0, 4002),
    );
    const failedTwice = after(retried, decidePublishingFailed(given(retried), videoId, secondFailure));
    expect(VideoPublishingFailed.parse(failedTwice.at(-1)!).data.reason).toMatch(/^transcoding failed: /);
    expect(PublishingRetried.parse(after(failedTwice, decide.RetryPublishing(failedTwice)).at(-1)!).data).toMatchObject(
      {
        attempt: 2,
        transcodeId: transcodeIdFor(videoId, 2),
      },
    );
  });
});
