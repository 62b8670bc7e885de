import {
  createSubscription,
  type Database,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from '@vt/message-store';

export interface AggregatorOptions {
  store: MessageStore;
  /** Where its View Data lives: the message store's own database, or another one. */
  viewData: Database;
  streamName: string;
  subscriberId: string;
  /** Applies messages to View Data, idempotently; `tx` is the transaction to use. */
  apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>;
}

/**
 * An aggregator's subscription. When View Data shares the message store's
 * database, a whole batch is applied in the transaction that records the
 * position (exactly-once in effect, fast catch-up); otherwise one transaction
 * per message, made safe by the positions each table keeps.
 */
export function aggregatorSubscription({ store, viewData, streamName, subscriberId, apply }: AggregatorOptions) {
  if (viewData === store.db) return createSubscription({ store, streamName, subscriberId, handleBatch: apply });
  return createSubscription({
    store,
    streamName,
    subscriberId,
    handlers: { $any: (message) => viewData.transaction((tx) => apply([message], tx)) },
  });
}
