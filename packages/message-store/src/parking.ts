import { randomUUID } from 'node:crypto';
import type { StoredMessage } from './message.js';
import type { MessageStore } from './store.js';
import { VersionConflictError } from './errors.js';

/** A message a consumer could not handle, kept with why, by whom and where. */
export interface ParkedMessage {
  messageId: string;
  streamName: string;
  position: number;
  globalPosition: number;
  type: string;
  /** The category or `$all` the consumer was reading. */
  consumerStreamName: string;
  subscriberId: string;
  member: { member: number; size: number } | null;
  error: string;
  attempts: number;
  parkedAt: string;
  state: 'parked' | 'retry-requested' | 'resolved';
}

export interface ParkingLot {
  readonly streamName: string;
  park(
    message: StoredMessage,
    error: unknown,
    details: { attempts: number; member: { member: number; size: number } | null; streamName: string },
  ): Promise<void>;
  /** Parked messages not yet resolved (pass `{ all: true }` to include resolved ones). */
  list(options?: { all?: boolean }): Promise<ParkedMessage[]>;
  /** Asks the consumer to handle a parked message again; it does so when next idle. */
  retry(messageId: string): Promise<void>;
  /** For the consumer: handles every requested retry, recording the outcome once. */
  processRetryRequests(handle: (message: StoredMessage) => Promise<void>): Promise<number>;
}

export function parkingLotStreamName(subscriberId: string) {
  return `parkedMessages-${subscriberId}`;
}

export function createParkingLot(store: MessageStore, subscriberId: string): ParkingLot {
  const streamName = parkingLotStreamName(subscriberId);
  // The lot folded so far, read on from where it was left.
  let folded = new Map<string, ParkedMessage>();
  let version = -1;

  const refresh = async () => {
    for (;;) {
      const messages = await store.read(streamName, { from: version + 1, max: 1000 });
      for (const message of messages) {
        folded = apply(folded, message);
        version = message.position;
      }
      if (messages.length < 1000) return;
    }
  };

  return {
    streamName,
    async park(message, error, details) {
      const parked: ParkedMessage = {
        messageId: message.id,
        streamName: message.streamName,
        position: message.position,
        globalPosition: message.globalPosition,
        type: message.type,
        consumerStreamName: details.streamName,
        subscriberId,
        member: details.member,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        attempts: details.attempts,
        parkedAt: new Date().toISOString(),
        state: 'parked',
      };
      await store.write(streamName, { id: randomUUID(), type: 'MessageParked', data: { ...parked } });
    },
    async list({ all = false } = {}) {
      await refresh();
      return [...folded.values()].filter((parked) => all || parked.state !== 'resolved');
    },
    async retry(messageId) {
      await refresh();
      if (!folded.has(messageId)) throw new Error(`No parked message ${messageId} for ${subscriberId}`);
      await store.write(streamName, { id: randomUUID(), type: 'ParkedMessageRetryRequested', data: { messageId } });
    },
    async processRetryRequests(handle) {
      await refresh();
      let handled = 0;
      for (const parked of folded.values()) {
        if (parked.state !== 'retry-requested') continue;
        const [original] = await store.read(parked.streamName, { from: parked.position, max: 1 });
        let outcome;
        try {
          if (!original || original.id !== parked.messageId) throw new Error('The parked message is no longer stored');
          await handle(original);
          outcome = { id: randomUUID(), type: 'ParkedMessageResolved', data: { messageId: parked.messageId } };
        } catch (error) {
          outcome = {
            id: randomUUID(),
            type: 'MessageParked',
            data: {
              ...parked,
              state: 'parked',
              attempts: parked.attempts + 1,
              error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
              parkedAt: new Date().toISOString(),
            },
          };
        }
        try {
          // Expected version: of two instances retrying at once, one records the outcome.
          await store.write(streamName, outcome, version);
          handled++;
        } catch (error) {
          if (!(error instanceof VersionConflictError)) throw error;
        }
        await refresh();
      }
      return handled;
    },
  };
}

function apply(lot: Map<string, ParkedMessage>, message: StoredMessage): Map<string, ParkedMessage> {
  const messageId = String(message.data.messageId);
  const current = lot.get(messageId);
  switch (message.type) {
    case 'MessageParked':
      lot.set(messageId, { ...(message.data as unknown as ParkedMessage), state: 'parked' });
      break;
    case 'ParkedMessageRetryRequested':
      if (current && current.state === 'parked') lot.set(messageId, { ...current, state: 'retry-requested' });
      break;
    case 'ParkedMessageResolved':
      if (current) lot.set(messageId, { ...current, state: 'resolved' });
      break;
  }
  return lot;
}
