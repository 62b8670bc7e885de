import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientDatabaseError } from '../database/port.js';
import { InvalidMessageError } from '../errors.js';
import type { StoredMessage } from '../message.js';
import { ownValue } from '../own-key.js';
import type { ParkingLot } from '../parking.js';
import { isPositionRecord, type PositionStore } from '../positions.js';
import { ALL_STREAMS } from '../stream-name.js';
import type {
  BatchHandler,
  ConsumerInfo,
  HandledInfo,
  Handlers,
  Logger,
  MessageHandler,
  MessageInHand,
  SubscriptionObserver,
} from '../subscription.js';
import { backoffMs, retryTransient } from './outages.js';
import type { ConsumerPosition } from './positions.js';

/** The message each handler call is handling (see `messageInHand`). */
export const inHand = new AsyncLocalStorage<MessageInHand>();

/** The handler for messages of `type`: an own property of `handlers` (never one of Object.prototype's), else `$any`. */
export function handlerFor(handlers: Handlers, type: string): MessageHandler | undefined {
  return ownValue(handlers, type) ?? ownValue(handlers, '$any');
}

export interface DispatchSettings {
  /** The category or `$all` the consumer reads. */
  streamName: string;
  handlers: Handlers;
  handleBatch: BatchHandler | undefined;
  positions: PositionStore;
  parkingLot: ParkingLot;
  /** Attempts at one message before it is parked. */
  maxAttempts: number;
  retryDelayMs: number;
  logger: Logger;
  notify: (tell: (observer: SubscriptionObserver) => void) => void;
}

/** Hands one consumer's messages to their handlers (or its batches to the batch handler), retrying and parking. */
export interface Dispatcher {
  /** Handles what a read found, moving the position past each message, or past the batch. */
  handle(messages: StoredMessage[]): Promise<void>;
  /** Handles retries that someone asked for (see ParkingLot.retry). */
  retryParked(): Promise<void>;
}

export function dispatcher(
  settings: DispatchSettings,
  consumer: ConsumerInfo,
  member: { member: number; size: number } | undefined,
  position: ConsumerPosition,
  isStopped: () => boolean,
): Dispatcher {
  const { streamName, handlers, handleBatch, positions, parkingLot, maxAttempts, retryDelayMs, logger, notify } =
    settings;
  const { subscriberId, member: key } = consumer;
  // Batches, and the one-message transactions of batch mode, run where the position is kept.
  const positionDb = positions.db;
  const isAll = streamName === ALL_STREAMS;

  const handledInfo = (
    message: StoredMessage,
    outcome: HandledInfo['outcome'],
    durationMs: number,
    batchSize = 1,
  ): HandledInfo => ({
    ...consumer,
    messageId: message.id,
    type: message.type,
    traceId: traceIdOf(message),
    outcome,
    durationMs,
    batchSize,
  });
  const reportHandled = (...info: Parameters<typeof handledInfo>) =>
    notify((observer) => observer.handled?.(handledInfo(...info)));
  const reportBatchHandled = (messages: StoredMessage[], durationMs: number) => {
    let types: Map<string, number> | undefined;
    notify((observer) => {
      if (observer.batchHandled) {
        if (!types) {
          types = new Map();
          for (const message of messages) types.set(message.type, (types.get(message.type) ?? 0) + 1);
        }
        observer.batchHandled({ ...consumer, types, batchSize: messages.length, durationMs });
        return;
      }
      if (!observer.handled) return;
      const share = durationMs / messages.length;
      for (const message of messages) observer.handled(handledInfo(message, 'handled', share, messages.length));
    });
  };
  const inHandOf = (message: StoredMessage): MessageInHand => ({
    subscriberId,
    member: key,
    messageId: message.id,
    type: message.type,
    traceId: traceIdOf(message),
  });
  /** Runs `work` with `message` as the message in hand, for the log lines written meanwhile. */
  const withMessageInHand = <T>(message: StoredMessage, work: () => Promise<T>): Promise<T> =>
    inHand.run(inHandOf(message), work);
  const retry = <T>(work: () => Promise<T>) => retryTransient(work, isStopped);

  /** Handles one message; false when it has no handler (passed over). */
  const handleOne = async (message: StoredMessage): Promise<boolean> => {
    if (handleBatch) {
      await positionDb.transaction(async (tx) => {
        await handleBatch([message], tx);
        await position.record(message.globalPosition, tx);
      });
      return true;
    }
    const handler = handlerFor(handlers, message.type);
    if (!handler) return false;
    await handler(message);
    return true;
  };

  /** Handles a message with retries; parks it when it keeps failing. Transient failures never park. */
  const handleWithRetries = async (message: StoredMessage, firstAttempt?: Attempt) => {
    let outages = 0;
    const traceId = traceIdOf(message);
    for (let attempt = 1; ; attempt++) {
      const started = firstAttempt?.started ?? performance.now();
      const running = firstAttempt?.outcome;
      firstAttempt = undefined;
      try {
        const ran = running ? (await running, true) : await withMessageInHand(message, () => handleOne(message));
        if (ran) reportHandled(message, 'handled', performance.now() - started);
        return;
      } catch (error) {
        const durationMs = performance.now() - started;
        if (isTransientDatabaseError(error)) {
          logger.warn(
            { subscriberId, member: key, messageId: message.id, traceId, error: String(error) },
            'database unreachable; retrying',
          );
          if (isStopped()) throw error;
          await sleep(backoffMs(++outages));
          // Stopped meanwhile (e.g. the slot's lock session went with the outage): the slot may be another's.
          if (isStopped()) throw error;
          attempt--; // an outage is not the message's fault
          continue;
        }
        const permanent = error instanceof InvalidMessageError;
        if (permanent || attempt >= maxAttempts) {
          logger.error(
            { subscriberId, member: key, messageId: message.id, type: message.type, traceId, error: String(error) },
            'message parked',
          );
          await retry(() =>
            parkingLot.park(message, error, {
              attempts: attempt,
              member: member ?? null,
              streamName,
            }),
          );
          if (handleBatch) await retry(() => position.record(message.globalPosition));
          reportHandled(message, 'parked', durationMs);
          return;
        }
        reportHandled(message, 'failed', durationMs);
        await sleep(retryDelayMs * 2 ** (attempt - 1));
        if (isStopped()) throw error; // left for whoever runs this consumer next
      }
    }
  };

  return {
    async handle(messages) {
      if (handleBatch) {
        const last = messages[messages.length - 1];
        if (!last) return;
        const started = performance.now();
        // On $all, with positions kept as messages, a batch of nothing but position records (ours or
        // other consumers') must not record a position of its own: that record would be the next batch,
        // for ever. It is kept in memory and recorded with the next real batch or at stop.
        const onlyPositions =
          positions.writesMessages && isAll && messages.every((message) => isPositionRecord(message));
        try {
          await positionDb.transaction(async (tx) => {
            await handleBatch(messages, tx);
            if (!onlyPositions) await position.record(last.globalPosition, tx);
          });
          if (onlyPositions) position.keepUnrecorded(messages.length);
          reportBatchHandled(messages, performance.now() - started);
          position.moveTo(last.globalPosition);
          return;
        } catch (error) {
          if (isTransientDatabaseError(error)) throw error;
          logger.warn({ subscriberId, error: String(error) }, 'batch failed; applying one by one');
          // Fall through: one transaction per message isolates the one that fails.
        }
      }
      for (const message of messages) {
        if (isStopped()) return;
        const handler = handleBatch ? undefined : handlerFor(handlers, message.type);
        if (handler) {
          // The first attempt is called here, and awaited only when the handler answers a promise.
          const started = performance.now();
          let outcome: unknown;
          try {
            outcome = inHand.run(inHandOf(message), handler, message);
          } catch (error) {
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- whatever the handler threw
            outcome = Promise.reject(error);
          }
          if (isPromiseLike(outcome)) await handleWithRetries(message, { started, outcome });
          else reportHandled(message, 'handled', performance.now() - started);
        } else if (handleBatch) await handleWithRetries(message);
        position.moveTo(message.globalPosition);
        if (!handleBatch) await position.countOne();
      }
    },

    async retryParked() {
      await parkingLot.processRetryRequests(async (message) => {
        const handler = handleBatch
          ? () => positionDb.transaction((tx) => handleBatch([message], tx))
          : handlerFor(handlers, message.type);
        if (!handler) return;
        const started = performance.now();
        try {
          await withMessageInHand(message, async () => {
            await handler(message);
          });
        } catch (error) {
          reportHandled(message, 'parked', performance.now() - started); // parked again
          throw error;
        }
        reportHandled(message, 'handled', performance.now() - started);
      });
    },
  };
}

/** A handler's first attempt, already running. */
interface Attempt {
  started: number;
  outcome: PromiseLike<unknown>;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null | undefined)?.then === 'function';
}

function traceIdOf(message: StoredMessage): string | undefined {
  const traceId = message.metadata?.traceId;
  return typeof traceId === 'string' ? traceId : undefined;
}
