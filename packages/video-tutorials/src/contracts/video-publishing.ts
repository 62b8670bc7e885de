import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from 'message-db-toolkit';
import { TimedWords } from './transcribe.js';

/**
 * The video-publishing component's messages (see docs/architecture.md, "Messages"). The book's events
 * stay as they are; the process manager also copies the results of transcode
 * and transcribe into its own stream (the workshop's cataloging process).
 */
export const videoPublishingCategory = 'videoPublishing';
export const videoPublishingStreamName = (videoId: string) => streamName(videoPublishingCategory, videoId);
export const videoPublishingCommandStreamName = (videoId: string) =>
  commandStreamName(videoPublishingCategory, videoId);

/** Limits the component enforces on names and descriptions. */
export const VIDEO_NAME_MAX_LENGTH = 120;
export const VIDEO_DESCRIPTION_MAX_LENGTH = 5_000;

const publishing = { ownerId: z.uuid(), sourceUri: z.string().min(1), videoId: z.uuid() };

// Commands (videoPublishing:command-{videoId})
export const PublishVideo = defineMessage('PublishVideo', z.object(publishing));
export const NameVideo = defineMessage('NameVideo', z.object({ videoId: z.uuid(), name: z.string() }));
export const DescribeVideo = defineMessage('DescribeVideo', z.object({ videoId: z.uuid(), description: z.string() }));
/** The owner's choices about a video's life: make it public, stop showing it, delete it, try a failed one again. */
const aboutTheVideo = z.object({ videoId: z.uuid() });
export const ListVideo = defineMessage('ListVideo', aboutTheVideo);
export const UnlistVideo = defineMessage('UnlistVideo', aboutTheVideo);
export const DeleteVideo = defineMessage('DeleteVideo', aboutTheVideo);
export const RetryPublishing = defineMessage('RetryPublishing', aboutTheVideo);

// Events (videoPublishing-{videoId}) — the book's
export const VideoPublished = defineMessage(
  'VideoPublished',
  z.object({ ...publishing, transcodedUri: z.string().min(1) }),
);
export const VideoPublishingFailed = defineMessage(
  'VideoPublishingFailed',
  z.object({ ...publishing, reason: z.string().min(1) }),
);
export const VideoNamed = defineMessage('VideoNamed', z.object({ name: z.string().min(1) }));
export const VideoNameRejected = defineMessage(
  'VideoNameRejected',
  z.object({ name: z.string(), reason: z.string().min(1) }),
);
export const VideoDescribed = defineMessage('VideoDescribed', z.object({ description: z.string().min(1) }));
export const VideoDescriptionRejected = defineMessage(
  'VideoDescriptionRejected',
  z.object({ description: z.string(), reason: z.string().min(1) }),
);

// Events (videoPublishing-{videoId}) — the process's own record of each step
export const PublishingStarted = defineMessage('PublishingStarted', z.object(publishing));
export const VideoTranscoded = defineMessage(
  'VideoTranscoded',
  z.object({
    videoId: z.uuid(),
    transcodeId: z.uuid(),
    transcodedUri: z.string().min(1),
    posterUri: z.string().min(1),
    durationSeconds: z.number().nonnegative(),
  }),
);
/** `words`: transcribe's timed words, copied when its `Transcribed` has them (see the transcribe contract). */
export const VideoTranscribed = defineMessage(
  'VideoTranscribed',
  z.object({ videoId: z.uuid(), transcribeId: z.uuid(), transcription: z.string(), words: TimedWords.optional() }),
);
export const VideoTranscriptionFailed = defineMessage(
  'VideoTranscriptionFailed',
  z.object({ videoId: z.uuid(), transcribeId: z.uuid(), reason: z.string().min(1) }),
);

// Events (videoPublishing-{videoId}) — the owner's choices, and what became of them
/** Public: in the catalogue, on the home page, on its watch page. Needs a name and a published (watchable) video. */
export const VideoListed = defineMessage('VideoListed', aboutTheVideo);
export const VideoUnlisted = defineMessage('VideoUnlisted', aboutTheVideo);
/** `files`: the storage URIs (or, for the book's videos, other URIs) the video had, removed by the component. */
export const VideoDeleted = defineMessage(
  'VideoDeleted',
  z.object({ videoId: z.uuid(), ownerId: z.uuid(), files: z.array(z.string().min(1)).max(10) }),
);
/** Transcoding again from the kept upload, as transcode `transcodeId` (a new one per attempt; attempt 1 is the first retry). */
export const PublishingRetried = defineMessage(
  'PublishingRetried',
  z.object({ ...publishing, transcodeId: z.uuid(), attempt: z.number().int().positive() }),
);
const refusal = z.object({ videoId: z.uuid(), reason: z.string().min(1) });
export const VideoListingRejected = defineMessage('VideoListingRejected', refusal);
export const VideoUnlistingRejected = defineMessage('VideoUnlistingRejected', refusal);
export const VideoDeletionRejected = defineMessage('VideoDeletionRejected', refusal);
export const PublishingRetryRejected = defineMessage('PublishingRetryRejected', refusal);

export type PublishVideo = MessageOf<typeof PublishVideo>;
export type NameVideo = MessageOf<typeof NameVideo>;
export type DescribeVideo = MessageOf<typeof DescribeVideo>;
export type VideoPublished = MessageOf<typeof VideoPublished>;
export type VideoPublishingFailed = MessageOf<typeof VideoPublishingFailed>;
export type VideoNamed = MessageOf<typeof VideoNamed>;
export type VideoNameRejected = MessageOf<typeof VideoNameRejected>;
export type VideoDescribed = MessageOf<typeof VideoDescribed>;
export type VideoDescriptionRejected = MessageOf<typeof VideoDescriptionRejected>;
export type PublishingStarted = MessageOf<typeof PublishingStarted>;
export type VideoTranscoded = MessageOf<typeof VideoTranscoded>;
export type VideoTranscribed = MessageOf<typeof VideoTranscribed>;
export type VideoTranscriptionFailed = MessageOf<typeof VideoTranscriptionFailed>;
export type ListVideo = MessageOf<typeof ListVideo>;
export type UnlistVideo = MessageOf<typeof UnlistVideo>;
export type DeleteVideo = MessageOf<typeof DeleteVideo>;
export type RetryPublishing = MessageOf<typeof RetryPublishing>;
export type VideoListed = MessageOf<typeof VideoListed>;
export type VideoUnlisted = MessageOf<typeof VideoUnlisted>;
export type VideoDeleted = MessageOf<typeof VideoDeleted>;
export type PublishingRetried = MessageOf<typeof PublishingRetried>;
