import type { Claim, Queryable } from './database/port.js';
import type { StoredMessage } from './message.js';
import { createParkingLot, type ParkingLot } from './parking.js';
import { messageStorePositions, type PositionStore } from './positions.js';
import { databaseOf, type MessageStore } from './store.js';
import { ALL_STREAMS, category as categoryOf, isCategory } from './stream-name.js';
import { claimSlots, type Claimer } from './subscription/consumer-group.js';
import { startConsumer, waitUntilCaughtUp, type Consumer, type ConsumerSettings } from './subscription/consumer.js';
import { inHand } from './subscription/dispatcher.js';
import { watchWrites } from './subscription/reader.js';

export { isPositionRecord, positionStreamName } from './positions.js';
export { claimKey } from './subscription/consumer-group.js';
export { handlerFor } from './subscription/dispatcher.js';

export type MessageHandler = (message: StoredMessage) => unknown;

/** Handlers by message type; `$any` handles every type without its own handler. */
export type Handlers = { $any?: MessageHandler } & Record<string, MessageHandler | undefined>;

/** Applies a whole batch inside the transaction that also records the position. */
export type BatchHandler = (messages: StoredMessage[], tx: Queryable) => Promise<unknown>;

export interface Logger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** One consumer: a subscription's member slot (`member` null without a consumer group). */
export interface ConsumerInfo {
  subscriberId: string;
  /** The category or `$all` the consumer reads. */
  streamName: string;
  member: number | null;
}

export interface HandledInfo extends ConsumerInfo {
  messageId: string;
  type: string;
  traceId: string | undefined;
  /**
   * `handled`: a handler ran and succeeded. `failed`: an attempt failed and will be retried (a message
   * can have several). `parked`: the last attempt failed and the message was parked.
   */
  outcome: 'handled' | 'parked' | 'failed';
  /** This attempt's time; in batch mode the batch's time shared out evenly over its messages. */
  durationMs: number;
  /** How many messages were applied together (1 outside batch mode). */
  batchSize: number;
}

/** A batch applied together (batch mode), told once: what a per-message report would say, summed. */
export interface BatchHandledInfo extends ConsumerInfo {
  /** How many messages of each type the batch held. */
  types: ReadonlyMap<string, number>;
  batchSize: number;
  /** The batch's time. */
  durationMs: number;
}

export interface PositionInfo extends ConsumerInfo {
  /** The global position of the last message read past (handled, parked or without a handler). */
  position: number;
}

/**
 * Told what a subscription does, e.g. to keep metrics. Calls are synchronous, in the consumer's loop:
 * keep them quick. An observer that throws is logged and otherwise ignored.
 */
export interface SubscriptionObserver {
  /**
   * After each message a handler ran for (messages without a handler are passed over, unreported):
   * once per attempt that failed and will be retried, then once `handled` or `parked`. Transient
   * database failures are not the message's and are not reported. An observer without it (nor
   * `batchHandled`) costs nothing per message: a consumer of `$all` hands over thousands a second.
   */
  handled?(info: HandledInfo): void;
  /**
   * A batch applied in batch mode, once, instead of `handled` for each of its messages — which, for a
   * consumer of `$all` keeping metrics, costs more than applying the batch. Without it, `handled` is
   * called per message.
   */
  batchHandled?(info: BatchHandledInfo): void;
  /** The position was loaded at start or moved on (after each message, or after a batch). */
  position(info: PositionInfo): void;
  /** A read found nothing new: the consumer was caught up when that read started. */
  idle?(info: PositionInfo): void;
  /** The consumer stopped running here: the subscription stopped, or a group slot was given up. */
  stopped?(info: ConsumerInfo): void;
}

/** What a consumer is handling now, for log lines written while it does (see `messageInHand`). */
export interface MessageInHand {
  subscriberId: string;
  member: number | null;
  messageId: string;
  type: string;
  traceId: string | undefined;
}

/**
 * The message the current handler call is handling, or undefined outside a handler (and in batch mode,
 * outside the one-message retries). A logger can add its `traceId` to every line, e.g. pino's `mixin`.
 */
export function messageInHand(): MessageInHand | undefined {
  return inHand.getStore();
}

export type ConsumerGroup =
  /** This instance is one fixed member of a group of `size`. */
  | { member: number; size: number }
  /** This instance claims free member slots by itself (advisory locks on PostgreSQL). */
  | {
      size: number;
      claim: 'auto';
      claimIntervalMs?: number;
      /**
       * How long a newly claimed slot waits before its consumer starts, so that an instance that has just
       * lost the slot's lock session has stopped handling it. Default 3,000 ms on PostgreSQL, 0 on PGlite.
       */
      handoverMs?: number;
    };

export interface SubscriptionOptions {
  store: MessageStore;
  /** A category, or `$all`. */
  streamName: string;
  subscriberId: string;
  handlers?: Handlers;
  /** Batch mode: each batch applied in one transaction of the position store's database, with the position. */
  handleBatch?: BatchHandler;
  /**
   * Where the position is kept; default `messageStorePositions(store)` (`subscriberPosition-…` streams).
   * An aggregator keeps it with its View Data (`tablePositions(viewData)`), so batches commit with it.
   */
  positions?: PositionStore;
  /**
   * Subscriber ids whose work this subscription carries on (this subscription's earlier id, the same piece
   * run by another system), in order of preference. On a start with no position of its own recorded yet, it
   * starts after the position recorded for the first of them that has one — for a group member, that member's
   * position under the id, else the id's ungrouped one — and records it as its own at once. It only ever reads
   * their positions. (The first, not the furthest: ids may have recorded positions in different categories.)
   */
  continuesFrom?: string | readonly string[];
  messagesPerTick?: number;
  /** Record the position after this many messages (and on stop). */
  positionUpdateInterval?: number;
  /**
   * Poll interval when caught up. With wake-ups a caught-up consumer does not poll unless this is
   * set: the process's one wake-up watcher wakes it (it polls every 1000 ms if the watcher cannot start).
   */
  tickIntervalMs?: number;
  /** Only messages whose origin (correlation) stream is in this category — filtered by Message DB. */
  originStreamName?: string;
  /**
   * With `originStreamName`: also messages without a correlation whose `originStreamName` is in the category,
   * as writers outside this toolkit store them (the book's code). See `CategoryReadOptions`.
   */
  originWithoutCorrelation?: boolean;
  consumerGroup?: ConsumerGroup;
  /** Be woken by writes to the category (the process's wake-up watcher); default true. */
  wakeUps?: boolean;
  /** Attempts at one message before it is parked. */
  maxAttempts?: number;
  retryDelayMs?: number;
  logger?: Logger;
  /** Told of every handled message and position change (e.g. for metrics); more via `observe`. */
  observer?: SubscriptionObserver;
}

export interface Subscription {
  start(): Promise<void>;
  /** Finishes the message in hand, records the position and stops. */
  stop(): Promise<void>;
  /** Resolves once every message written before the call has been handled. */
  waitUntilCaughtUp(options?: { timeoutMs?: number }): Promise<void>;
  /** Member slots this instance runs now (all of them `[null]` without a group). */
  members(): (number | null)[];
  /** Adds an observer (e.g. from a composition root that did not build the subscription); returns its removal. */
  observe(observer: SubscriptionObserver): () => void;
  readonly parkingLot: ParkingLot;
}

export function createSubscription(options: SubscriptionOptions): Subscription {
  const observers = new Set<SubscriptionObserver>(options.observer ? [options.observer] : []);
  const settings = subscriptionSettings(options, observers);
  const { store, streamName, subscriberId, logger, parkingLot, consumerGroup } = settings;
  const db = databaseOf(store);

  let running = false;
  const consumers = new Map<number | null, Consumer>();
  let claimer: Claimer | undefined;
  let unsubscribe: (() => Promise<void>) | undefined;

  function startMember(member: { member: number; size: number } | undefined, claim: Claim | null, handoverMs = 0) {
    const consumer = startConsumer(settings, member, claim, handoverMs);
    consumers.set(member?.member ?? null, consumer);
    return consumer;
  }

  async function stopMember(key: number | null) {
    const consumer = consumers.get(key);
    if (!consumer) return;
    consumer.stop();
    await consumer.done;
    // Not a consumer started for this slot since (a lost claim and a give-back may both stop one).
    if (consumers.get(key) === consumer) consumers.delete(key);
  }

  return {
    parkingLot,
    members: () => [...consumers.keys()],
    observe(observer) {
      observers.add(observer);
      return () => void observers.delete(observer);
    },
    async start() {
      if (running) return;
      running = true;
      if (settings.wakeUps) {
        unsubscribe = await watchWrites(settings, {
          // Consumers of a whole category take what the watcher read; filtered reads read for themselves.
          fed: streamName !== ALL_STREAMS && !settings.correlation && !consumerGroup,
          wake: () => {
            for (const consumer of consumers.values()) consumer.wake();
          },
          tickIntervalMs: options.tickIntervalMs,
        });
      }
      if (consumerGroup && 'claim' in consumerGroup) {
        claimer = claimSlots(
          {
            db,
            subscriberId,
            logger,
            consumers,
            startConsumer: startMember,
            stopConsumer: stopMember,
            isRunning: () => running,
          },
          {
            size: consumerGroup.size,
            intervalMs: consumerGroup.claimIntervalMs ?? 2_000,
            handoverMs: consumerGroup.handoverMs ?? (db.kind === 'postgres' ? 3_000 : 0),
          },
        );
      } else {
        startMember(consumerGroup, null);
      }
    },
    async stop() {
      if (!running) return;
      running = false;
      await claimer?.stop();
      await Promise.all([...consumers.keys()].map((key) => stopMember(key)));
      await unsubscribe?.();
      settings.watching.feed = null;
      await claimer?.leave();
    },
    waitUntilCaughtUp: ({ timeoutMs = 30_000 } = {}) => waitUntilCaughtUp(consumers, subscriberId, timeoutMs),
  };
}

interface SubscriptionSettings extends ConsumerSettings {
  wakeUps: boolean;
  consumerGroup: ConsumerGroup | undefined;
}

/** The options with their defaults, checked: what the subscription and each of its consumers go by. */
function subscriptionSettings(
  options: SubscriptionOptions,
  observers: ReadonlySet<SubscriptionObserver>,
): SubscriptionSettings {
  const {
    store,
    streamName,
    subscriberId,
    handlers = {},
    handleBatch,
    messagesPerTick = handleBatch ? 1000 : 100,
    positionUpdateInterval = 100,
    originStreamName,
    originWithoutCorrelation = false,
    consumerGroup,
    wakeUps = true,
    maxAttempts = 3,
    retryDelayMs = 50,
    logger = silentLogger,
    positions = messageStorePositions(options.store),
  } = options;
  const isAll = streamName === ALL_STREAMS;
  if (!isAll && !isCategory(streamName)) throw new Error(`A subscription reads a category or $all, not ${streamName}`);
  if (originStreamName && isAll) throw new Error('Origin filtering needs a category, not $all');
  if (originWithoutCorrelation && !originStreamName) throw new Error('originWithoutCorrelation needs originStreamName');
  const predecessors: readonly string[] =
    typeof options.continuesFrom === 'string' ? [options.continuesFrom] : (options.continuesFrom ?? []);
  if (predecessors.includes(subscriberId)) throw new Error(`${subscriberId} cannot continue from its own position`);
  return {
    store,
    streamName,
    subscriberId,
    handlers,
    handleBatch,
    positions,
    predecessors,
    positionUpdateInterval,
    messagesPerTick,
    correlation: originStreamName ? categoryOf(originStreamName) : undefined,
    originWithoutCorrelation,
    // With wake-ups the watcher wakes caught-up consumers: they wait for it rather than each polling.
    watching: { watched: false, feed: null, tickIntervalMs: options.tickIntervalMs ?? (wakeUps ? Infinity : 100) },
    parkingLot: createParkingLot(store, subscriberId),
    maxAttempts,
    retryDelayMs,
    logger,
    /** Tells every observer; one that throws is logged, never allowed to stop the consumer. */
    notify: (tell) => {
      for (const observer of observers) {
        try {
          tell(observer);
        } catch (error) {
          logger.warn({ subscriberId, error: String(error) }, 'subscription observer failed');
        }
      }
    },
    wakeUps,
    consumerGroup,
  };
}
