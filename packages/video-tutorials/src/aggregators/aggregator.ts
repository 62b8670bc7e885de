import {
  createSubscription,
  tablePositions,
  type Database,
  type Logger,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';
import { pieceOf, type OwnedTable, type PieceDescriptor, type SubscriptionDescriptor } from '../piece.js';

/** The View Data table where every aggregator keeps its position (migration 0006-consumer-positions). */
export const POSITIONS_TABLE = 'consumer_positions';

/** Aggregators' positions, kept in View Data next to the rows they describe. */
export const viewDataPositions = (viewData: Database) => tablePositions(viewData, { table: POSITIONS_TABLE });

export interface AggregatorOptions {
  store: MessageStore;
  /** Where its View Data lives: the message store's own database, or another one. */
  viewData: Database;
  streamName: string;
  subscriberId: string;
  /** Applies messages to View Data, idempotently; `tx` is the transaction to use. */
  apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>;
  /** Where parked messages and retries are logged. */
  logger?: Logger | undefined;
}

/**
 * An aggregator's subscription. Its position is kept in View Data (`consumer_positions`) and each
 * batch is applied in the View Data transaction that records it, whichever database the message
 * store is in: rows and position commit together, an empty View Data database is built from
 * position 0, and a restored backup resumes from the position it holds.
 */
export function aggregatorSubscription({
  store,
  viewData,
  streamName,
  subscriberId,
  apply,
  logger,
}: AggregatorOptions) {
  return createSubscription({
    store,
    streamName,
    subscriberId,
    handleBatch: apply,
    positions: viewDataPositions(viewData),
    ...(logger ? { logger } : {}),
  });
}

/** What an aggregator declares about itself: its one subscription and the View Data tables it alone writes. */
export interface AggregatorDescriptor extends PieceDescriptor {
  subscriptions: { readonly events: SubscriptionDescriptor };
  tables: readonly OwnedTable[];
}

/** What every aggregator is built from. */
export interface AggregatorDeps {
  store: MessageStore;
  viewData: Database;
  logger?: Logger | undefined;
}

/** The aggregator's piece, subscribed as its descriptor says; `apply` is kept on it for `rebuild`. */
export function aggregatorPiece<Apply extends AggregatorOptions['apply']>(
  descriptor: AggregatorDescriptor,
  apply: Apply,
  { store, viewData, logger }: AggregatorDeps,
) {
  const { streamName, subscriberId } = descriptor.subscriptions.events;
  const subscription = aggregatorSubscription({ store, viewData, streamName, subscriberId, apply, logger });
  return { ...pieceOf(descriptor.name, [subscription]), apply };
}
