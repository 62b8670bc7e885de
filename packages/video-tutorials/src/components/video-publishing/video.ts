import { defineProjection, id as idOf, type StoredMessage } from 'message-db-toolkit';
import {
  PublishingRetried,
  PublishingStarted,
  VideoDeleted,
  VideoDescribed,
  VideoListed,
  VideoNamed,
  VideoPublished,
  VideoPublishingFailed,
  videoPublishingCommandStreamName,
  VideoTranscoded,
  VideoTranscribed,
  VideoTranscriptionFailed,
  VideoUnlisted,
} from '../../contracts/video-publishing.js';

/**
 * How far publishing has come: `none` (never asked), `started` (transcoding asked for), `transcoded`
 * (transcription asked for, or settled and publishing about to be recorded), `published` (watchable) or
 * `failed` (it will not be, unless its owner tries again), or `deleted` by its owner (nothing more happens to it).
 */
export type PublishingStatus = 'none' | 'started' | 'transcoded' | 'published' | 'failed' | 'deleted';

/** What the video-publishing component knows about one video, folded from `videoPublishing-{videoId}`. */
export interface Video {
  status: PublishingStatus;
  ownerId: string | null;
  sourceUri: string | null;
  transcodedUri: string | null;
  posterUri: string | null;
  durationSeconds: number | null;
  /** The text of the recording, once transcribed. */
  transcription: string | null;
  /** Why transcription failed (publishing goes on without a transcription). */
  transcriptionFailure: string | null;
  /** Why publishing failed. */
  publishingFailure: string | null;
  name: string | null;
  description: string | null;
  /**
   * The global position of the last `NameVideo` of `videoPublishing:command-{videoId}` an event of this stream
   * answered (-1: none). A naming command at or before it has been decided on already.
   */
  namingPosition: number;
  /** The same for `DescribeVideo`. */
  describingPosition: number;
  /**
   * Public (in the catalogue) by its owner's choice — or, for a video the book's system published (its
   * `VideoPublished` with no `PublishingStarted` before it), as the book showed it.
   */
  listed: boolean;
  /** The transcode attempt publishing waits for: 0 for the upload's own, then one more per retry. */
  attempt: number;
  /** The same as `namingPosition` for the owner's choices: `ListVideo`, `UnlistVideo`, `DeleteVideo`, `RetryPublishing`. */
  choicePosition: number;
}

export const initialVideo = (): Video => ({
  status: 'none',
  ownerId: null,
  sourceUri: null,
  transcodedUri: null,
  posterUri: null,
  durationSeconds: null,
  transcription: null,
  transcriptionFailure: null,
  publishingFailure: null,
  name: null,
  description: null,
  namingPosition: -1,
  describingPosition: -1,
  listed: false,
  attempt: 0,
  choicePosition: -1,
});

/** The video projection: pure reducers, one per event type of the video-publishing stream. */
export const videoProjection = defineProjection(initialVideo)
  .on(PublishingStarted, (video, event) => {
    const { ownerId, sourceUri } = event.data;
    return { ...video, status: 'started', ownerId, sourceUri };
  })
  .on(VideoTranscoded, (video, event) => {
    const { transcodedUri, posterUri, durationSeconds } = event.data;
    return { ...video, status: 'transcoded', transcodedUri, posterUri, durationSeconds };
  })
  .on(VideoTranscribed, (video, event) => ({ ...video, transcription: event.data.transcription }))
  .on(VideoTranscriptionFailed, (video, event) => ({ ...video, transcriptionFailure: event.data.reason }))
  // The book's system wrote `VideoPublished` and `VideoPublishingFailed` without the steps before them.
  .on(VideoPublished, (video, event) => {
    const { ownerId, sourceUri, transcodedUri } = event.data;
    const bookPublished = video.status === 'none';
    return { ...video, status: 'published', ownerId, sourceUri, transcodedUri, listed: video.listed || bookPublished };
  })
  .on(VideoPublishingFailed, (video, event) => {
    const { ownerId, sourceUri, reason } = event.data;
    return { ...video, status: 'failed', ownerId, sourceUri, publishingFailure: reason };
  })
  .on(VideoNamed, (video, event) => ({
    ...video,
    name: event.data.name,
    namingPosition: answeredPosition(video.namingPosition, event),
  }))
  .on('VideoNameRejected', (video, event) => ({
    ...video,
    namingPosition: answeredPosition(video.namingPosition, event),
  }))
  .on(VideoDescribed, (video, event) => ({
    ...video,
    description: event.data.description,
    describingPosition: answeredPosition(video.describingPosition, event),
  }))
  .on('VideoDescriptionRejected', (video, event) => ({
    ...video,
    describingPosition: answeredPosition(video.describingPosition, event),
  }))
  // The owner's choices (their data is checked though not read); a rejection answers its command too.
  .on(VideoListed, (video, event) => ({ ...answeredChoice(video, event), listed: true }))
  .on(VideoUnlisted, (video, event) => ({ ...answeredChoice(video, event), listed: false }))
  .on(VideoDeleted, (video, event) => ({ ...answeredChoice(video, event), status: 'deleted', listed: false }))
  .on(PublishingRetried, (video, event) => {
    const { ownerId, sourceUri, attempt } = event.data;
    return { ...answeredChoice(video, event), status: 'started', ownerId, sourceUri, attempt, publishingFailure: null };
  })
  .on('VideoListingRejected', answeredChoice)
  .on('VideoUnlistingRejected', answeredChoice)
  .on('VideoDeletionRejected', answeredChoice)
  .on('PublishingRetryRejected', answeredChoice)
  .build();

function answeredChoice(video: Video, event: StoredMessage): Video {
  return { ...video, choicePosition: answeredPosition(video.choicePosition, event) };
}

/** True when transcription has an outcome, either way. */
export const transcriptionSettled = (video: Video): boolean =>
  video.transcription !== null || video.transcriptionFailure !== null;

/**
 * The global position of the command `event` answered, if later than `position`: its causation, set by `follow`,
 * when that is this video's command stream. The book's system recorded no causation; for its events the event's
 * own global position stands in (the book's own rule: a command before it has been handled).
 */
function answeredPosition(position: number, event: StoredMessage): number {
  const { causationMessageStreamName, causationMessageGlobalPosition } = event.metadata;
  if (causationMessageStreamName === undefined && causationMessageGlobalPosition === undefined)
    return Math.max(position, event.globalPosition);
  const videoId = idOf(event.streamName);
  if (videoId === null || causationMessageStreamName !== videoPublishingCommandStreamName(videoId)) return position;
  if (typeof causationMessageGlobalPosition !== 'number') return position;
  return Math.max(position, causationMessageGlobalPosition);
}

/** True when an event of the video stream already answers this naming or describing command. */
export function alreadyAnswered(answered: number, command: StoredMessage): boolean {
  return command.globalPosition <= answered;
}
