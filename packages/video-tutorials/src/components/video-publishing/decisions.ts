import { z } from 'zod';
import {
  follow,
  nothing,
  type Decision,
  type Message,
  type Nothing,
  type Write,
  type MessageData,
  type MessageDefinition,
  type MessageMetadata,
  type StoredMessage,
} from 'message-db-toolkit';
import {
  Transcode,
  transcodeCommandStreamName,
  type TranscodeFailed,
  type Transcoded,
} from '../../contracts/transcode.js';
import {
  Transcribe,
  transcribeCommandStreamName,
  type TranscribeFailed,
  type Transcribed,
} from '../../contracts/transcribe.js';
import {
  PublishingRetried,
  PublishingRetryRejected,
  PublishingStarted,
  VideoDeleted,
  VideoDeletionRejected,
  VideoListed,
  VideoListingRejected,
  VideoUnlisted,
  VideoUnlistingRejected,
  type DeleteVideo,
  type ListVideo,
  type RetryPublishing,
  type UnlistVideo,
  VIDEO_DESCRIPTION_MAX_LENGTH,
  VIDEO_NAME_MAX_LENGTH,
  VideoDescribed,
  VideoDescriptionRejected,
  VideoNamed,
  VideoNameRejected,
  VideoPublished,
  VideoPublishingFailed,
  videoPublishingStreamName,
  VideoTranscoded,
  VideoTranscribed,
  VideoTranscriptionFailed,
  type DescribeVideo,
  type NameVideo,
  type PublishVideo,
} from '../../contracts/video-publishing.js';
import { messageIdFor, transcodeIdFor, transcribeIdFor } from './ids.js';
import { alreadyAnswered, transcriptionSettled, type Video } from './video.js';

/**
 * What a handler is to do: write one message to one stream, or nothing (and why, for logs and tests).
 * Decisions are pure: they see the projected video and the message handled, nothing else. Every message
 * written gets its id from the message handled (`messageIdFor`), so deciding the same again writes nothing new.
 */
export { nothing, type Decision, type Nothing, type Write };

export const write = (streamName: string, message: Message): Write => ({ kind: 'write', streamName, message });

/** A new `definition` message with `data`, its id derived from `cause`, following `cause`. */
function answer<Type extends string, Schema extends z.ZodType<MessageData>>(
  cause: StoredMessage,
  definition: MessageDefinition<Type, Schema>,
  data: z.input<Schema>,
  metadata?: MessageMetadata,
) {
  const id = messageIdFor(cause, definition.type);
  return follow(cause, definition.create(data, metadata ? { id, metadata } : { id }));
}

// The process: each step is decided from the video's own stream.

/** 1. `PublishVideo` → `PublishingStarted`, unless publishing has started (or finished) already. */
export function decidePublishingStart(video: Video, command: PublishVideo): Decision {
  if (video.status !== 'none') return nothing(`publishing already ${video.status}`);
  return write(videoPublishingStreamName(command.data.videoId), answer(command, PublishingStarted, command.data));
}

/**
 * 2. Own `PublishingStarted` (or, for a retry, `PublishingRetried`) → `Transcode` of the upload to
 * `transcode:command-{transcodeId}`, on behalf of the video's stream (`originStreamName`), while the video waits
 * for it — for the attempt it waits for only: a replayed `PublishingStarted` after a retry asks for nothing.
 */
export function decideTranscode(video: Video, started: PublishingStarted | PublishingRetried): Decision {
  if (video.status !== 'started') return nothing(`transcoding no longer needed: publishing ${video.status}`);
  const attempt = 'attempt' in started.data ? started.data.attempt : 0;
  if (attempt !== video.attempt) return nothing(`an earlier attempt: publishing waits for attempt ${video.attempt}`);
  const { videoId, sourceUri } = started.data;
  const transcodeId = transcodeIdFor(videoId, attempt);
  const transcode = answer(started, Transcode, { transcodeId, uri: sourceUri }, onBehalfOf(videoId));
  return write(transcodeCommandStreamName(transcodeId), transcode);
}

/** 3a. Transcode's `Transcoded` of this video's transcode → `VideoTranscoded`, copied into the video's stream. */
export function decideVideoTranscoded(video: Video, videoId: string, transcoded: Transcoded): Decision {
  const { transcodeId, transcodedUri, posterUri, durationSeconds } = transcoded.data;
  if (transcodeId !== transcodeIdFor(videoId, video.attempt)) return nothing('not the transcode of this video');
  if (video.status !== 'started') return nothing(`transcode result not needed: publishing ${video.status}`);
  return write(
    videoPublishingStreamName(videoId),
    answer(transcoded, VideoTranscoded, { videoId, transcodeId, transcodedUri, posterUri, durationSeconds }),
  );
}

/** 3b. Transcode's `TranscodeFailed` of this video's transcode → `VideoPublishingFailed`: it cannot be watched. */
export function decidePublishingFailed(video: Video, videoId: string, failed: TranscodeFailed): Decision {
  if (failed.data.transcodeId !== transcodeIdFor(videoId, video.attempt))
    return nothing('not the transcode of this video');
  if (video.status !== 'started') return nothing(`transcode result not needed: publishing ${video.status}`);
  const { ownerId, sourceUri } = video;
  if (ownerId === null || sourceUri === null) return nothing('publishing has no owner or source');
  const reason = `transcoding failed: ${failed.data.reason}`;
  return write(
    videoPublishingStreamName(videoId),
    answer(failed, VideoPublishingFailed, { ownerId, sourceUri, videoId, reason }),
  );
}

/** 4. Own `VideoTranscoded` → `Transcribe` of the transcoded video to `transcribe:command-{transcribeId}`. */
export function decideTranscribe(video: Video, transcoded: VideoTranscoded): Decision {
  if (video.status !== 'transcoded') return nothing(`transcription no longer needed: publishing ${video.status}`);
  if (transcriptionSettled(video)) return nothing('transcription already settled');
  const { videoId, transcodedUri } = transcoded.data;
  const transcribeId = transcribeIdFor(videoId);
  const transcribe = answer(transcoded, Transcribe, { transcribeId, uri: transcodedUri }, onBehalfOf(videoId));
  return write(transcribeCommandStreamName(transcribeId), transcribe);
}

/** 5a. Transcribe's `Transcribed` of this video's transcription → `VideoTranscribed`, its timed words with it. */
export function decideVideoTranscribed(video: Video, videoId: string, transcribed: Transcribed): Decision {
  const { transcribeId, transcription, words } = transcribed.data;
  const unwanted = transcriptionResultUnwanted(video, videoId, transcribeId);
  if (unwanted) return unwanted;
  return write(
    videoPublishingStreamName(videoId),
    answer(transcribed, VideoTranscribed, { videoId, transcribeId, transcription, ...(words ? { words } : {}) }),
  );
}

/** 5b. Transcribe's `TranscribeFailed` → `VideoTranscriptionFailed`; publishing goes on without a transcription. */
export function decideTranscriptionFailed(video: Video, videoId: string, failed: TranscribeFailed): Decision {
  const { transcribeId, reason } = failed.data;
  const unwanted = transcriptionResultUnwanted(video, videoId, transcribeId);
  if (unwanted) return unwanted;
  return write(
    videoPublishingStreamName(videoId),
    answer(failed, VideoTranscriptionFailed, { videoId, transcribeId, reason }),
  );
}

function transcriptionResultUnwanted(video: Video, videoId: string, transcribeId: string): Nothing | null {
  if (transcribeId !== transcribeIdFor(videoId)) return nothing('not the transcription of this video');
  if (video.status !== 'transcoded') return nothing(`transcription result not needed: publishing ${video.status}`);
  if (transcriptionSettled(video)) return nothing('transcription already settled');
  return null;
}

/** 6. Own `VideoTranscribed` or `VideoTranscriptionFailed` → `VideoPublished`: the video can be watched. */
export function decidePublished(video: Video, settled: VideoTranscribed | VideoTranscriptionFailed): Decision {
  if (video.status !== 'transcoded') return nothing(`publishing already ${video.status}`);
  if (!transcriptionSettled(video)) return nothing('transcription not settled');
  const { ownerId, sourceUri, transcodedUri } = video;
  if (ownerId === null || sourceUri === null || transcodedUri === null)
    return nothing('publishing has no owner, source or transcoded video');
  const { videoId } = settled.data;
  return write(
    videoPublishingStreamName(videoId),
    answer(settled, VideoPublished, { ownerId, sourceUri, transcodedUri, videoId }),
  );
}

/**
 * The metadata of a command asking another component to work for this video: its results carry
 * `originStreamName`, and Message DB filters on `correlationStreamName`. Both are set: `follow` may have carried
 * an older correlation on from the cause.
 */
function onBehalfOf(videoId: string) {
  const originStreamName = videoPublishingStreamName(videoId);
  return { originStreamName, correlationStreamName: originStreamName };
}

// Naming and describing (the book's chapter 11): at any time, whatever publishing's status.

/** `NameVideo` → `VideoNamed` with the trimmed name, or `VideoNameRejected` with the reason. */
export function decideNaming(video: Video, command: NameVideo): Decision {
  if (alreadyAnswered(video.namingPosition, command)) return nothing('command already handled');
  const { videoId, name } = command.data;
  const streamName = videoPublishingStreamName(videoId);
  const reason = deletedProblem(video) ?? textProblem('name', name, video.name, VIDEO_NAME_MAX_LENGTH);
  if (reason) return write(streamName, answer(command, VideoNameRejected, { name, reason }));
  return write(streamName, answer(command, VideoNamed, { name: name.trim() }));
}

/** `DescribeVideo` → `VideoDescribed` with the trimmed description, or `VideoDescriptionRejected` with the reason. */
export function decideDescribing(video: Video, command: DescribeVideo): Decision {
  if (alreadyAnswered(video.describingPosition, command)) return nothing('command already handled');
  const { videoId, description } = command.data;
  const streamName = videoPublishingStreamName(videoId);
  const reason =
    deletedProblem(video) ?? textProblem('description', description, video.description, VIDEO_DESCRIPTION_MAX_LENGTH);
  if (reason) return write(streamName, answer(command, VideoDescriptionRejected, { description, reason }));
  return write(streamName, answer(command, VideoDescribed, { description: description.trim() }));
}

/**
 * Why a name or description cannot be taken, or null. Surrounding white space does not count: it is trimmed
 * off, and the length is counted in characters (Unicode code points) of what remains.
 */
export function textProblem(what: string, text: string, current: string | null, maxLength: number): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return `${what} is blank`;
  if ([...trimmed].length > maxLength) return `${what} is longer than ${maxLength} characters`;
  if (trimmed === current) return `${what} is the same as the current ${what}`;
  return null;
}

const deletedProblem = (video: Video): string | null => (video.status === 'deleted' ? 'the video is deleted' : null);

// The owner's choices: make the video public, stop showing it, delete it, try a failed one again. Each command is
// answered once, accepted or rejected with the reason, and never again (`choicePosition`, as for naming).

/** `ListVideo` → `VideoListed`: public. Only a watchable video with a name, not public already. */
export function decideListing(video: Video, command: ListVideo): Decision {
  const outcome =
    lifeProblem(video) ??
    (video.status === 'failed'
      ? 'the video could not be prepared, so it cannot be public'
      : video.status !== 'published'
        ? 'the video is still being prepared'
        : video.listed
          ? 'the video is already public'
          : video.name === null
            ? 'the video needs a name before it can be public'
            : () => answer(command, VideoListed, command.data));
  return decideChoice(video, command, VideoListingRejected, outcome);
}

/** `UnlistVideo` → `VideoUnlisted`: no longer public (its owner still has it). */
export function decideUnlisting(video: Video, command: UnlistVideo): Decision {
  const outcome =
    lifeProblem(video) ??
    (video.listed ? () => answer(command, VideoUnlisted, command.data) : 'the video is not public');
  return decideChoice(video, command, VideoUnlistingRejected, outcome);
}

/**
 * `DeleteVideo` → `VideoDeleted`, naming the files the video has (the component then removes them). Not while
 * it is being prepared: transcode would leave files behind it; that ends, published or failed, within its time limit.
 */
export function decideDeletion(video: Video, command: DeleteVideo): Decision {
  const { ownerId } = video;
  const files = [...new Set([video.sourceUri, video.transcodedUri, video.posterUri])].filter(
    (file): file is string => file !== null,
  );
  const outcome =
    lifeProblem(video) ??
    (video.status === 'started' || video.status === 'transcoded'
      ? 'the video is still being prepared: delete it once it is ready or has failed'
      : ownerId === null
        ? 'the video has no owner'
        : () => answer(command, VideoDeleted, { videoId: command.data.videoId, ownerId, files }));
  return decideChoice(video, command, VideoDeletionRejected, outcome);
}

/** `RetryPublishing` → `PublishingRetried`: a failed video transcoded again, from its kept upload, as a new transcode. */
export function decideRetry(video: Video, command: RetryPublishing): Decision {
  const { ownerId, sourceUri, attempt } = video;
  const { videoId } = command.data;
  const outcome =
    lifeProblem(video) ??
    (video.status !== 'failed'
      ? 'only a video that failed can be tried again'
      : ownerId === null || sourceUri === null
        ? 'the video has no upload to try again'
        : () =>
            answer(command, PublishingRetried, {
              ownerId,
              sourceUri,
              videoId,
              transcodeId: transcodeIdFor(videoId, attempt + 1),
              attempt: attempt + 1,
            }));
  return decideChoice(video, command, PublishingRetryRejected, outcome);
}

/** What stops any choice: no video yet, or a deleted one. */
function lifeProblem(video: Video): string | null {
  if (video.status === 'none') return 'there is no such video';
  return deletedProblem(video);
}

type Rejection =
  | typeof VideoListingRejected
  | typeof VideoUnlistingRejected
  | typeof VideoDeletionRejected
  | typeof PublishingRetryRejected;

/**
 * `outcome`: why the choice cannot be taken (written as the rejection), or the accepted event to write; nothing
 * when an event answered the command already.
 */
function decideChoice(
  video: Video,
  command: ListVideo | UnlistVideo | DeleteVideo | RetryPublishing,
  rejected: Rejection,
  outcome: string | (() => Message),
): Decision {
  if (alreadyAnswered(video.choicePosition, command)) return nothing('command already handled');
  const { videoId } = command.data;
  const streamName = videoPublishingStreamName(videoId);
  // The four rejections share one schema; only their type differs.
  if (typeof outcome === 'string')
    return write(streamName, answer(command, rejected as typeof VideoListingRejected, { videoId, reason: outcome }));
  return write(streamName, outcome());
}
