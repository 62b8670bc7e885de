import {
  ALL_STREAMS,
  category,
  type Database,
  type Logger,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';
import { aggregatorSubscription } from '../aggregator.js';

/** The category of every component's position stream (`subscriberPosition-{subscriberId}`). */
export const POSITION_CATEGORY = 'subscriberPosition';

export const isPositionMessage = (message: StoredMessage) => category(message.streamName) === POSITION_CATEGORY;

/**
 * An admin aggregator's subscription to `$all`, applying whole batches like every aggregator. Its
 * position is kept in View Data, so recording it writes nothing into `$all`.
 */
export function adminAllSubscription({
  store,
  viewData,
  subscriberId,
  apply,
  logger,
}: {
  store: MessageStore;
  viewData: Database;
  subscriberId: string;
  apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>;
  logger?: Logger | undefined;
}) {
  return aggregatorSubscription({ store, viewData, streamName: ALL_STREAMS, subscriberId, apply, logger });
}

/** A message's time for a `timestamptz` parameter. */
export const timeOf = (message: StoredMessage) => message.time.toISOString();
