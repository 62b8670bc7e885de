/**
 * Every piece of Video Tutorials — its components and aggregators — once, in the order a process starts them.
 * Each entry is the piece's own descriptor (its name, its subscriptions with their subscriber ids and streams, and
 * for an aggregator its View Data tables, all declared in its index.ts) and how the system builds it. The
 * composition root, `--only` and `--help`, `rebuild` and the admin portal's consumers page all read this list:
 * adding a piece is adding its entry here (see docs/architecture.md, "Pieces").
 */
import type { ConsumerGroup, Logger, Queryable, StoredMessage } from 'message-db-toolkit';
import * as accountSessions from './aggregators/account-sessions/index.js';
import * as adminMessageIndex from './aggregators/admin-message-index/index.js';
import * as adminStreams from './aggregators/admin-streams/index.js';
import * as adminSubscriberPositions from './aggregators/admin-subscriber-positions/index.js';
import * as adminUsers from './aggregators/admin-users/index.js';
import type { AggregatorDeps, AggregatorDescriptor } from './aggregators/aggregator.js';
import * as catalogue from './aggregators/catalogue/index.js';
import * as creatorsVideos from './aggregators/creators-videos/index.js';
import * as homePage from './aggregators/home-page/index.js';
import * as registrationMonitor from './aggregators/registration-monitor/index.js';
import * as userCredentials from './aggregators/user-credentials/index.js';
import * as videoOperations from './aggregators/video-operations/index.js';
import * as videoViews from './aggregators/video-views/index.js';
import * as identity from './components/identity/index.js';
import * as sendEmail from './components/send-email/index.js';
import { createEmailTransport } from './components/send-email/transport.js';
import * as transcode from './components/transcode/index.js';
import * as transcribe from './components/transcribe/index.js';
import * as videoPublishing from './components/video-publishing/index.js';
import type { Config } from './config.js';
import { subscriptionsOf, type Piece, type PieceDescriptor, type SubscriptionDescriptor } from './piece.js';
import type { Storage } from './storage.js';

/** What the composition root hands every piece it builds. */
export interface PieceWiring extends AggregatorDeps {
  config: Config;
  storage: Storage;
  logger: Logger;
  /** Components scale out as consumer groups whose members each process claims by itself. */
  consumerGroup?: ConsumerGroup;
  /** How long a registration e-mail may take before the monitor flags it (its default: 5 minutes). */
  registrationEmailLimitMs?: number;
  /** How long a password reset link works (identity's default: an hour). */
  passwordResetLinkTtlMs?: number;
}

export interface ComponentPiece extends PieceDescriptor {
  kind: 'component';
  build: (wiring: PieceWiring) => Piece;
}

export interface AggregatorPiece extends AggregatorDescriptor {
  kind: 'aggregator';
  /** Builds it without starting it; `rebuild` needs only the store and View Data, and uses its `apply`. */
  build: (
    deps: AggregatorDeps & Partial<PieceWiring>,
  ) => Piece & { apply: (messages: StoredMessage[], tx: Queryable) => Promise<void> };
}

export type SystemPiece = ComponentPiece | AggregatorPiece;

const component = (
  descriptor: PieceDescriptor,
  build: (wiring: PieceWiring, group: { consumerGroup?: ConsumerGroup }) => Piece,
): ComponentPiece => ({
  ...descriptor,
  kind: 'component',
  build: (wiring) => build(wiring, wiring.consumerGroup ? { consumerGroup: wiring.consumerGroup } : {}),
});

const aggregator = (descriptor: AggregatorDescriptor, build: AggregatorPiece['build']): AggregatorPiece => ({
  ...descriptor,
  kind: 'aggregator',
  build,
});

export const PIECES: readonly SystemPiece[] = [
  component(identity.descriptor, ({ config, store, logger, passwordResetLinkTtlMs }, group) =>
    identity.build({
      messageStore: store,
      appName: config.appName,
      confirmationPolicy: { appUrl: config.appUrl },
      ...(passwordResetLinkTtlMs ? { passwordResetLinkTtlMs } : {}),
      logger,
      ...group,
    }),
  ),
  component(sendEmail.descriptor, ({ config, store, logger }, group) =>
    sendEmail.build({
      messageStore: store,
      transport: createEmailTransport(
        config.smtpUrl ? { smtpUrl: config.smtpUrl } : { emailDirectory: config.emailDirectory },
      ),
      systemSenderEmailAddress: config.systemSenderEmailAddress,
      logger,
      ...group,
    }),
  ),
  aggregator(homePage.descriptor, homePage.build),
  aggregator(userCredentials.descriptor, userCredentials.build),
  aggregator(accountSessions.descriptor, accountSessions.build),
  aggregator(registrationMonitor.descriptor, ({ store, viewData, logger, registrationEmailLimitMs }) =>
    registrationMonitor.build({
      store,
      viewData,
      logger,
      ...(registrationEmailLimitMs ? { limitMs: registrationEmailLimitMs } : {}),
    }),
  ),
  component(videoPublishing.descriptor, ({ config, store, logger, storage }, group) =>
    videoPublishing.build({
      messageStore: store,
      logger,
      storage,
      keepSources: config.keepUploadedSources,
      ...group,
    }),
  ),
  component(transcode.descriptor, ({ store, storage, logger }, group) =>
    transcode.build({ messageStore: store, storage, logger, ...group }),
  ),
  component(transcribe.descriptor, ({ store, storage, logger }, group) =>
    transcribe.build({ messageStore: store, storage, logger, ...group }),
  ),
  aggregator(creatorsVideos.descriptor, creatorsVideos.build),
  aggregator(catalogue.descriptor, catalogue.build),
  aggregator(videoOperations.descriptor, videoOperations.build),
  aggregator(videoViews.descriptor, videoViews.build),
  // The admin portal's aggregators read $all (in commit order, as their subscriptions do).
  aggregator(adminUsers.descriptor, adminUsers.build),
  aggregator(adminStreams.descriptor, adminStreams.build),
  aggregator(adminSubscriberPositions.descriptor, adminSubscriberPositions.build),
  aggregator(adminMessageIndex.descriptor, adminMessageIndex.build),
];

/** Every piece a worker process can run, by name. */
export const PIECE_NAMES: readonly string[] = PIECES.map((piece) => piece.name);

export const AGGREGATORS: readonly AggregatorPiece[] = PIECES.filter(
  (piece): piece is AggregatorPiece => piece.kind === 'aggregator',
);

/** An aggregator's folder under src/aggregators/: its name without `-aggregator` (`rebuild home-page`). */
export const folderOf = (piece: AggregatorPiece) => piece.name.replace(/-aggregator$/, '');

/** Every subscription of every piece. */
export const SUBSCRIPTIONS: readonly SubscriptionDescriptor[] = PIECES.flatMap(subscriptionsOf);

export class UnknownPieceError extends Error {
  override name = 'UnknownPieceError';
}

/** The named pieces, in the order given; an unknown name stops with the list to choose from. */
export function selectPieces(names: readonly string[]): SystemPiece[] {
  return names.map((name) => {
    const piece = PIECES.find((known) => known.name === name);
    if (!piece) throw new UnknownPieceError(`Unknown piece "${name}": choose from ${PIECE_NAMES.join(', ')}`);
    return piece;
  });
}
