/**
 * The transcode component (contract.md): turns the uploaded video a
 * `Transcode` command names into a web MP4 and a poster with ffmpeg, once,
 * and records `Transcoded` or `TranscodeFailed` in the transcode's own stream.
 */
import { accessSync, constants } from 'node:fs';
import {
  commandCategory,
  createSubscription,
  doOnce,
  type ConsumerGroup,
  type Logger,
  type MessageStore,
  type StoredMessage,
} from 'message-db-toolkit';
import {
  Transcode,
  transcodeCategory,
  TranscodeFailed,
  Transcoded,
  transcodeStreamName,
} from '../../contracts/transcode.js';
import { pieceOf, type PieceDescriptor } from '../../piece.js';
import type { Storage } from '../../storage.js';
import { installedFfmpegPath } from './ffmpeg.js';
import { isSettled, transcodeProjection } from './transcode.js';
import { createTranscoder, type TranscodeResult } from './transcoder.js';

export interface TranscodeOptions {
  messageStore: MessageStore;
  /** Where uploads are read and `transcoded/` and `posters/` are written. */
  storage: Storage;
  /** Default: the binary of `@ffmpeg-installer/ffmpeg`. */
  ffmpegPath?: string;
  /** The most one video may take (every ffmpeg run for it together) before it fails; default 1 hour. */
  timeoutMs?: number;
  /** To run several instances: each handles its share of the transcodes. */
  consumerGroup?: ConsumerGroup;
  logger?: Logger;
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export const descriptor = {
  name: 'transcode',
  subscriptions: {
    commands: {
      streamName: commandCategory(transcodeCategory),
      subscriberId: 'components:transcode',
    },
  },
} as const satisfies PieceDescriptor;

const OUTCOME_NAMESPACE = '4f1d7a2e-8c3b-4e6f-9a05-b2d9c71e3a58';

export function build({
  messageStore,
  storage,
  ffmpegPath = installedFfmpegPath(),
  timeoutMs = 60 * 60_000,
  consumerGroup,
  logger = silentLogger,
}: TranscodeOptions) {
  if (!(timeoutMs > 0)) throw new Error('transcode needs a timeoutMs above 0');
  checkExecutable(ffmpegPath);
  const transcoder = createTranscoder({ storage, ffmpegPath, timeoutMs, logger });

  const handlers = {
    /**
     * Transcoded once: a transcode already settled is not run again. The outcome is written with the version the
     * decision was made on, so of two instances transcoding the same video only the first records one; its id
     * comes from the command, so the same write repeated is recognized, not rejected.
     */
    async Transcode(message: StoredMessage): Promise<void> {
      const command = Transcode.parse(message);
      const { transcodeId, uri } = command.data;
      await doOnce(messageStore, {
        cause: command,
        streamName: transcodeStreamName(transcodeId),
        projection: transcodeProjection,
        isSettled,
        work: () => transcoder.transcode(command.data),
        outcome: (result: TranscodeResult) =>
          result.transcoded
            ? Transcoded.create({
                transcodeId,
                uri,
                transcodedUri: result.transcodedUri,
                posterUri: result.posterUri,
                durationSeconds: result.durationSeconds,
              })
            : TranscodeFailed.create({ transcodeId, uri, reason: result.reason }),
        namespace: OUTCOME_NAMESPACE,
        logger,
        what: 'transcode',
        details: { transcodeId },
      });
    },
  };

  const subscription = createSubscription({
    store: messageStore,
    ...descriptor.subscriptions.commands,
    handlers,
    ...(consumerGroup ? { consumerGroup } : {}),
    logger,
  });

  return { ...pieceOf(descriptor.name, [subscription]), handlers };
}

/** A missing ffmpeg is the machine's fault, not the video's: it stops start-up instead of failing every video. */
function checkExecutable(ffmpegPath: string) {
  try {
    accessSync(ffmpegPath, constants.X_OK);
  } catch {
    throw new Error(`transcode cannot run ffmpeg: no executable at ${ffmpegPath}`);
  }
}
