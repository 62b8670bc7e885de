import {
  ALL_STREAMS,
  category,
  positionStreamName,
  type Database,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from '@vt/message-store';
import { aggregatorSubscription } from '../aggregator.js';

/** The category of every consumer's position stream (`subscriberPosition-{subscriberId}`). */
export const POSITION_CATEGORY = 'subscriberPosition';

export const isPositionMessage = (message: StoredMessage) => category(message.streamName) === POSITION_CATEGORY;

/** An admin aggregator records its position once this many global positions past the last one it recorded. */
export const RECORD_POSITION_EVERY = 50;

/**
 * An admin aggregator's subscription to `$all`, applying whole batches like every aggregator.
 *
 * A `$all` consumer in batch mode records its position (a `Read` message) in the transaction of every
 * batch, and that `Read` is itself in `$all`: it would be the next batch, which records another `Read`,
 * for ever — and several `$all` consumers would feed each other the same way. So a batch made only of
 * position messages records no position. And since every admin table is idempotent, a position is
 * recorded only every `RECORD_POSITION_EVERY` global positions, not for every batch: otherwise each
 * message written would bring one `Read` per admin aggregator into the store. Restarted, an admin
 * aggregator applies again the few messages after its recorded position, which changes nothing.
 */
export function adminAllSubscription({
  store,
  viewData,
  subscriberId,
  apply,
}: {
  store: MessageStore;
  viewData: Database;
  subscriberId: string;
  apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>;
}) {
  const ownPositionStream = positionStreamName(subscriberId);
  const onlyPositions = new WeakSet<Queryable>();
  let recorded = -Infinity;
  const quietStore: MessageStore = {
    ...store,
    writeInTransaction: async (tx, streamName, message, expectedVersion) => {
      if (streamName === ownPositionStream) {
        const position = Number(message.data.position);
        if (onlyPositions.has(tx) || position - recorded < RECORD_POSITION_EVERY) return -1;
        recorded = position;
      }
      return store.writeInTransaction(tx, streamName, message, expectedVersion);
    },
  };
  return aggregatorSubscription({
    store: quietStore,
    viewData,
    streamName: ALL_STREAMS,
    subscriberId,
    apply: async (messages, tx) => {
      await apply(messages, tx);
      if (messages.every(isPositionMessage)) onlyPositions.add(tx);
    },
  });
}

/** A message's time for a `timestamptz` parameter. */
export const timeOf = (message: StoredMessage) => message.time.toISOString();
