import { rm } from 'node:fs/promises';
import { z } from 'zod';
import {
  createDecider,
  ensureWrittenTo,
  InvalidMessageError,
  originIdIn,
  type Logger,
  type MessageStore,
  type Outcome,
  type StoredMessage,
} from 'message-db-toolkit';
import { TranscodeFailed, Transcoded, transcodeStreamName } from '../../contracts/transcode.js';
import { TranscribeFailed, Transcribed, transcribeStreamName } from '../../contracts/transcribe.js';
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
  VideoDeleted,
  videoPublishingCategory,
  videoPublishingCommandStreamName,
  videoPublishingStreamName,
  VideoPublished,
  VideoPublishingFailed,
  VideoTranscoded,
  VideoTranscribed,
  VideoTranscriptionFailed,
} from '../../contracts/video-publishing.js';
import type { Storage } from '../../storage.js';
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
  nothing,
  type Decision,
} from './decisions.js';
import { videoProjection, type Video } from './video.js';

/** What handling a message did. */
export type { Outcome };

export type Handler = (message: StoredMessage) => Promise<Outcome>;

export interface HandlerDependencies {
  messageStore: MessageStore;
  logger: Logger;
  /**
   * Where the videos' files are: an upload is removed once its video is published, unless `keepSources`; every
   * file of a video once it is deleted.
   */
  storage?: Storage;
  keepSources?: boolean;
}

/**
 * The video-publishing component's handlers: each one validates the message, finds the video it is about, and
 * hands it to `onVideo`, which loads the video's stream, decides (pure, see decisions.ts) and writes.
 */
export function createHandlers({ messageStore, logger, storage, keepSources = false }: HandlerDependencies) {
  const decider = createDecider({ store: messageStore, name: 'video-publishing', logger });

  /**
   * Load → decide → write, decided again when the video's stream changed in between (after 3 decisions the
   * subscription retries or parks the message). Events of the video's stream are written with the expected
   * version of the projection decided on; commands to another component's stream without one (their id, derived
   * from the message handled, makes a repeat a no-op). When another instance handled the same message, the new
   * decision sees its event and does nothing.
   */
  function onVideo(message: StoredMessage, videoId: string, decide: (video: Video) => Decision) {
    return decider.decideOn(message, videoPublishingStreamName(videoId), videoProjection, decide);
  }

  const commands = {
    PublishVideo: async (message: StoredMessage): Promise<Outcome> => {
      const command = PublishVideo.parse(message);
      const { videoId } = command.data;
      ensureWrittenTo(command, videoPublishingCommandStreamName(videoId));
      return onVideo(command, videoId, (video) => decidePublishingStart(video, command));
    },

    NameVideo: async (message: StoredMessage): Promise<Outcome> => {
      const command = NameVideo.parse(message);
      const { videoId } = command.data;
      ensureWrittenTo(command, videoPublishingCommandStreamName(videoId));
      return onVideo(command, videoId, (video) => decideNaming(video, command));
    },

    DescribeVideo: async (message: StoredMessage): Promise<Outcome> => {
      const command = DescribeVideo.parse(message);
      const { videoId } = command.data;
      ensureWrittenTo(command, videoPublishingCommandStreamName(videoId));
      return onVideo(command, videoId, (video) => decideDescribing(video, command));
    },

    // The owner's choices (the creators portal checked the acting user owns the video).
    ListVideo: ownersChoice(ListVideo, decideListing),
    UnlistVideo: ownersChoice(UnlistVideo, decideUnlisting),
    DeleteVideo: ownersChoice(DeleteVideo, decideDeletion),
    RetryPublishing: ownersChoice(RetryPublishing, decideRetry),
  };

  function ownersChoice<Command extends StoredMessage<string, { videoId: string }>>(
    definition: { parse(message: StoredMessage): Command },
    decide: (video: Video, command: Command) => Decision,
  ) {
    return async (message: StoredMessage): Promise<Outcome> => {
      const command = definition.parse(message);
      const { videoId } = command.data;
      ensureWrittenTo(command, videoPublishingCommandStreamName(videoId));
      return onVideo(command, videoId, (video) => decide(video, command));
    };
  }

  // Each step of the process is driven by the event that recorded the step before it.
  const events = {
    PublishingStarted: async (message: StoredMessage): Promise<Outcome> => {
      const event = PublishingStarted.parse(message);
      const { videoId } = event.data;
      ensureWrittenTo(event, videoPublishingStreamName(videoId));
      return onVideo(event, videoId, (video) => decideTranscode(video, event));
    },

    PublishingRetried: async (message: StoredMessage): Promise<Outcome> => {
      const event = PublishingRetried.parse(message);
      const { videoId } = event.data;
      ensureWrittenTo(event, videoPublishingStreamName(videoId));
      return onVideo(event, videoId, (video) => decideTranscode(video, event));
    },

    VideoTranscoded: async (message: StoredMessage): Promise<Outcome> => {
      const event = VideoTranscoded.parse(message);
      const { videoId } = event.data;
      ensureWrittenTo(event, videoPublishingStreamName(videoId));
      return onVideo(event, videoId, (video) => decideTranscribe(video, event));
    },

    VideoTranscribed: async (message: StoredMessage): Promise<Outcome> => {
      const event = VideoTranscribed.parse(message);
      const { videoId } = event.data;
      ensureWrittenTo(event, videoPublishingStreamName(videoId));
      return onVideo(event, videoId, (video) => decidePublished(video, event));
    },

    VideoTranscriptionFailed: async (message: StoredMessage): Promise<Outcome> => {
      const event = VideoTranscriptionFailed.parse(message);
      const { videoId } = event.data;
      ensureWrittenTo(event, videoPublishingStreamName(videoId));
      return onVideo(event, videoId, (video) => decidePublished(video, event));
    },

    // Published, the process is over and nothing reads the upload again: it goes, unless kept.
    VideoPublished: async (message: StoredMessage): Promise<Outcome> => {
      const event = VideoPublished.parse(message);
      ensureWrittenTo(event, videoPublishingStreamName(event.data.videoId));
      if (keepSources) return nothing('sources are kept');
      return removeFiles([event.data.sourceUri]);
    },

    // Failed, the upload stays for a retry (`RetryPublishing`) until the video is deleted.
    VideoPublishingFailed: async (message: StoredMessage): Promise<Outcome> => {
      const event = VideoPublishingFailed.parse(message);
      ensureWrittenTo(event, videoPublishingStreamName(event.data.videoId));
      return nothing('the source is kept for a retry');
    },

    // Deleted: every file of the video goes, the upload too whatever `keepSources` says.
    VideoDeleted: async (message: StoredMessage): Promise<Outcome> => {
      const event = VideoDeleted.parse(message);
      ensureWrittenTo(event, videoPublishingStreamName(event.data.videoId));
      return removeFiles(event.data.files);
    },
  };

  /**
   * Idempotent: a file already gone (handled before, or replayed) is no error. URIs that are not storage URIs
   * (the book's videos' external media) are nobody's files here.
   */
  async function removeFiles(uris: readonly string[]): Promise<Outcome> {
    if (!storage) return nothing('no storage to remove files from');
    const removed: string[] = [];
    for (const uri of uris) {
      let file: string;
      try {
        file = storage.pathOf(uri);
      } catch {
        continue;
      }
      await rm(file, { force: true });
      removed.push(uri);
    }
    return nothing(removed.length > 0 ? `removed ${removed.join(', ')}` : 'no stored files to remove');
  }

  const transcodeEvents = {
    Transcoded: async (message: StoredMessage): Promise<Outcome> => {
      const transcoded = Transcoded.parse(message);
      ensureWrittenTo(transcoded, transcodeStreamName(transcoded.data.transcodeId));
      const videoId = requestingVideo(transcoded);
      if (videoId === null) return nothing('not a transcode video-publishing asked for');
      return onVideo(transcoded, videoId, (video) => decideVideoTranscoded(video, videoId, transcoded));
    },

    TranscodeFailed: async (message: StoredMessage): Promise<Outcome> => {
      const failed = TranscodeFailed.parse(message);
      ensureWrittenTo(failed, transcodeStreamName(failed.data.transcodeId));
      const videoId = requestingVideo(failed);
      if (videoId === null) return nothing('not a transcode video-publishing asked for');
      return onVideo(failed, videoId, (video) => decidePublishingFailed(video, videoId, failed));
    },
  };

  const transcribeEvents = {
    Transcribed: async (message: StoredMessage): Promise<Outcome> => {
      const transcribed = Transcribed.parse(message);
      ensureWrittenTo(transcribed, transcribeStreamName(transcribed.data.transcribeId));
      const videoId = requestingVideo(transcribed);
      if (videoId === null) return nothing('not a transcription video-publishing asked for');
      return onVideo(transcribed, videoId, (video) => decideVideoTranscribed(video, videoId, transcribed));
    },

    TranscribeFailed: async (message: StoredMessage): Promise<Outcome> => {
      const failed = TranscribeFailed.parse(message);
      ensureWrittenTo(failed, transcribeStreamName(failed.data.transcribeId));
      const videoId = requestingVideo(failed);
      if (videoId === null) return nothing('not a transcription video-publishing asked for');
      return onVideo(failed, videoId, (video) => decideTranscriptionFailed(video, videoId, failed));
    },
  };

  return { commands, events, transcodeEvents, transcribeEvents };
}

export type VideoPublishingHandlers = ReturnType<typeof createHandlers>;

const uuid = z.uuid();

/** The video whose stream asked for this work (`originStreamName: videoPublishing-{videoId}`), if any. */
function requestingVideo(result: StoredMessage): string | null {
  const requester = originIdIn(result, videoPublishingCategory);
  if (requester === null) return null;
  if (!uuid.safeParse(requester).success)
    throw new InvalidMessageError(result.type, [
      `originStreamName ${String(result.metadata.originStreamName ?? result.metadata.correlationStreamName)} names no video`,
    ]);
  return requester;
}
