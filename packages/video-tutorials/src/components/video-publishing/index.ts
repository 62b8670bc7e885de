import {
  commandCategory,
  createSubscription,
  type ConsumerGroup,
  type Logger,
  type MessageStore,
  type SubscriptionOptions,
} from 'message-db-toolkit';
import { transcodeCategory } from '../../contracts/transcode.js';
import { transcribeCategory } from '../../contracts/transcribe.js';
import { videoPublishingCategory } from '../../contracts/video-publishing.js';
import { pieceOf, type PieceDescriptor } from '../../piece.js';
import type { Storage } from '../../storage.js';
import { createHandlers } from './handlers.js';

export { transcodeIdFor, transcribeIdFor, TRANSCODE_ID_NAMESPACE, TRANSCRIBE_ID_NAMESPACE } from './ids.js';
export type { Outcome } from './handlers.js';
export type { PublishingStatus, Video } from './video.js';

export interface VideoPublishingOptions {
  messageStore: MessageStore;
  logger?: Logger;
  /** To run several instances: each handles its share of the videos (and of the transcodes and transcriptions). */
  consumerGroup?: ConsumerGroup;
  /** Uploaded sources are removed from here once a video is published or has failed… */
  storage?: Storage;
  /** …unless they are kept (`KEEP_UPLOADED_SOURCES`). */
  keepSources?: boolean;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * Subscriber ids of our own (the book's system may still run and record its positions); each carries on from
 * the id it had before, or the book's (see the README's table of subscriber ids).
 */
export const descriptor = {
  name: 'video-publishing',
  subscriptions: {
    commands: {
      streamName: commandCategory(videoPublishingCategory),
      subscriberId: 'vt:video-publishing:command',
      // Ours before; else the book's (its printed code, and some of its downloads).
      continuesFrom: ['components:video-publishing:command', 'components:video-publishing', 'video-publishing'],
    },
    events: {
      streamName: videoPublishingCategory,
      subscriberId: 'vt:video-publishing',
      continuesFrom: 'components:video-publishing',
    },
    transcodeEvents: {
      streamName: transcodeCategory,
      originStreamName: videoPublishingCategory,
      subscriberId: 'vt:video-publishing:transcodeEvents',
      continuesFrom: 'components:video-publishing:transcodeEvents',
    },
    transcribeEvents: {
      streamName: transcribeCategory,
      originStreamName: videoPublishingCategory,
      subscriberId: 'vt:video-publishing:transcribeEvents',
      continuesFrom: 'components:video-publishing:transcribeEvents',
    },
  },
} as const satisfies PieceDescriptor;

/**
 * The video-publishing component (the book's chapters 10–11, and the workshop's cataloging process): a process
 * manager that has an upload transcoded and transcribed by their components, records each result in the video's
 * own stream and publishes the video; and it names and describes videos. See contract.md.
 */
export function build({ messageStore, logger = silent, consumerGroup, storage, keepSources }: VideoPublishingOptions) {
  const handlers = createHandlers({
    messageStore,
    logger,
    ...(storage ? { storage } : {}),
    ...(keepSources !== undefined ? { keepSources } : {}),
  });
  const subscribe = (options: Omit<SubscriptionOptions, 'store' | 'logger' | 'consumerGroup'>) =>
    createSubscription({ store: messageStore, logger, ...options, ...(consumerGroup ? { consumerGroup } : {}) });

  const { commands, events, transcodeEvents, transcribeEvents } = descriptor.subscriptions;
  const subscriptions = [
    subscribe({ ...commands, handlers: handlers.commands }),
    subscribe({ ...events, handlers: handlers.events }),
    subscribe({ ...transcodeEvents, handlers: handlers.transcodeEvents }),
    subscribe({ ...transcribeEvents, handlers: handlers.transcribeEvents }),
  ];

  return { ...pieceOf(descriptor.name, subscriptions), handlers };
}
