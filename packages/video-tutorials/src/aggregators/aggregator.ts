import {
  createSubscription,
  tablePositions,
  type Database,
  type Logger,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';

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
