import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Claim, Queryable } from './database/port.js';
import { isTransientDatabaseError } from './database/port.js';
import { InvalidMessageError } from './errors.js';
import type { StoredMessage } from './message.js';
import { ownValue } from './own-key.js';
import { createParkingLot, type ParkingLot } from './parking.js';
import { isPositionRecord, messageStorePositions, type PositionStore } from './positions.js';
import { readAllShared, type AllStreamReader } from './read-all.js';
import type { MessageStore } from './store.js';
import { ALL_STREAMS, category as categoryOf, isCategory } from './stream-name.js';
import { wakeUpsFor, type CategoryFeed } from './wake-ups.js';

export { isPositionRecord, positionStreamName } from './positions.js';

export type MessageHandler = (message: StoredMessage) => unknown;

/** Handlers by message type; `$any` handles every type without its own handler. */
export type Handlers = { $any?: MessageHandler } & Record<string, MessageHandler | undefined>;

/** The handler for messages of `type`: an own property of `handlers` (never one of Object.prototype's), else `$any`. */
export function handlerFor(handlers: Handlers, type: string): MessageHandler | undefined {
  return ownValue(handlers, type) ?? ownValue(handlers, '$any');
}

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

const inHand = new AsyncLocalStorage<MessageInHand>();

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

/** How long a fed consumer takes the watcher's word before it reads its category itself once more. */
const FEED_TRUST_MS = 1_000;

/** A 32-bit key from a name, for advisory-lock claims. */
export function claimKey(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash | 0;
}

export function createSubscription(options: SubscriptionOptions): Subscription {
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
  // With wake-ups the watcher wakes caught-up consumers: they wait for it rather than each polling.
  let tickIntervalMs = options.tickIntervalMs ?? (wakeUps ? Infinity : 100);
  /** Whether the wake-up watcher is on for this subscription. */
  let watched = false;
  const db = store.db;
  // Batches, and the one-message transactions of batch mode, run where the position is kept.
  const positionDb = positions.db;
  const isAll = streamName === ALL_STREAMS;
  if (!isAll && !isCategory(streamName)) throw new Error(`A subscription reads a category or $all, not ${streamName}`);
  if (originStreamName && isAll) throw new Error('Origin filtering needs a category, not $all');
  if (originWithoutCorrelation && !originStreamName) throw new Error('originWithoutCorrelation needs originStreamName');
  const correlation = originStreamName ? categoryOf(originStreamName) : undefined;
  const predecessors: readonly string[] =
    typeof options.continuesFrom === 'string' ? [options.continuesFrom] : (options.continuesFrom ?? []);
  if (predecessors.includes(subscriberId)) throw new Error(`${subscriberId} cannot continue from its own position`);
  const parkingLot = createParkingLot(store, subscriberId);
  const observers = new Set<SubscriptionObserver>(options.observer ? [options.observer] : []);
  /** Tells every observer; one that throws is logged, never allowed to stop the consumer. */
  const notify = (tell: (observer: SubscriptionObserver) => void) => {
    for (const observer of observers) {
      try {
        tell(observer);
      } catch (error) {
        logger.warn({ subscriberId, error: String(error) }, 'subscription observer failed');
      }
    }
  };

  let running = false;
  const runners = new Map<number | null, MemberRunner>();
  let claimLoop: Promise<void> | undefined;
  let wakeAll: () => void = () => {};
  let unsubscribe: (() => Promise<void>) | undefined;
  /** What the process's watcher read of this category, when this subscription is fed by it. */
  let feed: CategoryFeed | null = null;
  let presence: Claim | null = null;
  let stopSignal = new AbortController();

  interface MemberRunner {
    member: { member: number; size: number } | undefined;
    position: number;
    /** Reads started so far, and the number of the last read that found nothing new. */
    readsStarted: number;
    caughtUpAtRead: number;
    positionLoaded: boolean;
    /** The next read goes to the database, not the feed (someone waits for a read begun after they asked). */
    readItself: boolean;
    done: Promise<void>;
    wake: () => void;
    claim: Claim | null;
    stop: () => void;
  }

  function startRunner(member: { member: number; size: number } | undefined, claim: Claim | null, handoverMs = 0) {
    const key = member?.member ?? null;
    const owner = { subscriberId, member };
    const allReader: AllStreamReader | null = isAll ? readAllShared(db) : null;
    let wakeResolver: (() => void) | undefined;
    let woken = false;
    let stopped = false;
    const runner: MemberRunner = {
      member,
      position: 0,
      readsStarted: 0,
      caughtUpAtRead: 0,
      positionLoaded: false,
      readItself: false,
      claim,
      done: Promise.resolve(),
      wake: () => {
        woken = true;
        wakeResolver?.();
      },
      stop: () => {
        stopped = true;
        runner.wake();
      },
    };
    let unsavedMessages = 0;
    const consumer: ConsumerInfo = { subscriberId, streamName, member: key };
    const reportPosition = () => notify((observer) => observer.position({ ...consumer, position: runner.position }));
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

    const waitForWork = async (ms: number) => {
      if (woken) {
        woken = false;
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = Number.isFinite(ms) ? setTimeout(resolve, ms) : undefined;
        wakeResolver = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeResolver = undefined;
      woken = false;
    };

    const writePosition = async (position: number, target?: Queryable) => {
      await positions.write(owner, position, target);
      unsavedMessages = 0;
    };

    /** Its own recorded position; on its first start, where its predecessors had got to (see `continuesFrom`). */
    const startingPosition = async (): Promise<number> => {
      const own = await positions.recorded(owner);
      if (own !== null || predecessors.length === 0) return own ?? 0;
      for (const predecessor of predecessors) {
        const asMember = member ? await positions.recorded({ subscriberId: predecessor, member }) : null;
        const position = asMember ?? (await positions.recorded({ subscriberId: predecessor }));
        if (position === null) continue;
        // Recorded at once: a restart resumes from its own position, whatever the predecessor does meanwhile.
        await writePosition(position);
        logger.info(
          { subscriberId, member: key, continuesFrom: predecessor, position },
          'no position of its own yet: continuing from its predecessor’s',
        );
        return position;
      }
      return 0;
    };

    /**
     * Fed by the watcher (see CategoryFeed): from which look on it holds what this consumer has not read
     * itself, and until when that stands before the consumer reads its category once more — a
     * safeguard against writers that insert rows without Message DB's category lock.
     */
    let fedSince: { look: number; until: number } | null = null;
    const readBatch = async (from: number): Promise<{ messages: StoredMessage[]; complete: boolean }> => {
      if (allReader) return allReader.read(from, messagesPerTick);
      if (feed && fedSince && !runner.readItself && performance.now() < fedSince.until) {
        const fed = feed.read(streamName, fedSince.look, from, messagesPerTick);
        if (fed) {
          if (!fed.truncated) fedSince.look = fed.throughLook + 1;
          return { messages: fed.messages, complete: true };
        }
      }
      runner.readItself = false;
      const look = feed?.currentLook() ?? 0;
      const messages = await store.read(streamName, from, messagesPerTick, {
        ...(correlation ? { correlation, originWithoutCorrelation } : {}),
        ...(member ? { consumerGroup: member } : {}),
      });
      // A read cut short leaves messages behind that the feed never held.
      fedSince = feed && messages.length < messagesPerTick ? { look, until: performance.now() + FEED_TRUST_MS } : null;
      return { messages, complete: true };
    };

    /** Handles one message; false when it has no handler (passed over). */
    const handleOne = async (message: StoredMessage): Promise<boolean> => {
      if (handleBatch) {
        await positionDb.transaction(async (tx) => {
          await handleBatch([message], tx);
          await writePosition(message.globalPosition, tx);
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
            if (stopped) throw error;
            await backoff(++outages);
            // Stopped meanwhile (e.g. the slot's lock session went with the outage): the slot may be another's.
            if (stopped) throw error;
            attempt--; // an outage is not the message's fault
            continue;
          }
          const permanent = error instanceof InvalidMessageError;
          if (permanent || attempt >= maxAttempts) {
            logger.error(
              { subscriberId, member: key, messageId: message.id, type: message.type, traceId, error: String(error) },
              'message parked',
            );
            await retryTransient(() =>
              parkingLot.park(message, error, {
                attempts: attempt,
                member: member ?? null,
                streamName,
              }),
            );
            if (handleBatch) await retryTransient(() => writePosition(message.globalPosition));
            reportHandled(message, 'parked', durationMs);
            return;
          }
          reportHandled(message, 'failed', durationMs);
          await sleep(retryDelayMs * 2 ** (attempt - 1));
          if (stopped) throw error; // left for whoever runs this consumer next
        }
      }
    };

    const retryTransient = async <T>(work: () => Promise<T>): Promise<T> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await work();
        } catch (error) {
          if (!isTransientDatabaseError(error) || stopped) throw error;
          await backoff(attempt);
        }
      }
    };

    const backoff = (attempt: number) => sleep(Math.min(100 * 2 ** Math.min(attempt, 6), 5_000));

    const handleMessages = async (messages: StoredMessage[]) => {
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
            if (!onlyPositions) await writePosition(last.globalPosition, tx);
          });
          runner.position = last.globalPosition;
          unsavedMessages = onlyPositions ? unsavedMessages + messages.length : 0;
          reportBatchHandled(messages, performance.now() - started);
          reportPosition();
          return;
        } catch (error) {
          if (isTransientDatabaseError(error)) throw error;
          logger.warn({ subscriberId, error: String(error) }, 'batch failed; applying one by one');
          // Fall through: one transaction per message isolates the one that fails.
        }
      }
      for (const message of messages) {
        if (stopped) return;
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
        runner.position = message.globalPosition;
        reportPosition();
        if (!handleBatch && ++unsavedMessages >= positionUpdateInterval) await recordPositionMeanwhile();
      }
    };

    /**
     * A position is recorded while the next messages are handled rather than before: its commit (a
     * disk flush on PostgreSQL) then costs the consumer nothing. One record at a time, in order; a
     * failure surfaces at the next one, or at the end.
     */
    let recording: Promise<void> | undefined;
    const recordPositionMeanwhile = async () => {
      await finishRecording();
      const position = runner.position;
      unsavedMessages = 0;
      recording = retryTransient(() => positions.write(owner, position));
      recording.catch(() => {}); // awaited by finishRecording
    };
    const finishRecording = async () => {
      const previous = recording;
      recording = undefined;
      await previous;
    };

    /** The next read of a category, started while a full batch is handled; used only if it reads on from there. */
    let readAhead: { from: number; readNumber: number; batch: ReturnType<typeof readBatch> } | undefined;

    const loop = async () => {
      let failures = 0;
      const handoverEnds = Date.now() + handoverMs;
      while (!stopped && Date.now() < handoverEnds) await waitForWork(handoverEnds - Date.now());
      while (!stopped) {
        try {
          if (!runner.positionLoaded) {
            runner.position = await startingPosition();
            runner.positionLoaded = true;
            reportPosition();
          }
          const from = runner.position + 1;
          const ahead = readAhead;
          readAhead = undefined;
          const readNumber = ahead?.from === from ? ahead.readNumber : ++runner.readsStarted;
          const { messages, complete } = await (ahead?.from === from ? ahead.batch : readBatch(from));
          failures = 0;
          if (messages.length === 0) {
            await finishRecording(); // caught up: what was handled is recorded before anyone is told
            if (complete) {
              runner.caughtUpAtRead = readNumber;
              notify((observer) => observer.idle?.({ ...consumer, position: runner.position }));
            }
            if (key === null || key === 0) await retryParked();
            // A gap in $all is looked at again soon: it may be a rollback, which nobody wakes us for.
            if (!stopped) await waitForWork(complete ? tickIntervalMs : Math.min(tickIntervalMs, 20));
            continue;
          }
          const last = messages[messages.length - 1]!;
          // A full batch: more may follow, so the next read runs while this batch is handled. ($all reads
          // wait for gaps to close, so they stay one at a time.)
          if (!allReader && messages.length >= messagesPerTick) {
            const next = last.globalPosition + 1;
            readAhead = { from: next, readNumber: ++runner.readsStarted, batch: readBatch(next) };
            readAhead.batch.catch(() => {}); // a failed read ahead fails when used, or never matters
          }
          await handleMessages(messages);
          // A short batch was the end of what there is: the watcher wakes us for more, so no read to find nothing.
          if (watched && complete && messages.length < messagesPerTick && !stopped) await waitForWork(tickIntervalMs);
        } catch (error) {
          if (stopped) break;
          failures++;
          logger.warn({ subscriberId, member: key, error: String(error) }, 'consumer tick failed; retrying');
          await waitForWork(Math.min(100 * 2 ** Math.min(failures, 6), 5_000));
        }
      }
      await readAhead?.batch.catch(() => {});
      readAhead = undefined;
      await finishRecording().catch(() => {});
      if (unsavedMessages > 0) await retryTransient(() => writePosition(runner.position)).catch(() => {});
    };

    /** Handles retries that someone asked for (see ParkingLot.retry); member 0 only. */
    const retryParked = async () => {
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
    };

    runner.done = loop().finally(async () => {
      notify((observer) => observer.stopped?.(consumer));
      await runner.claim?.release();
    });
    runners.set(key, runner);
    return runner;
  }

  async function stopRunner(key: number | null) {
    const runner = runners.get(key);
    if (!runner) return;
    runner.stop();
    await runner.done;
    // Not a runner started for this slot since (a lost claim and a give-back may both stop one).
    if (runners.get(key) === runner) runners.delete(key);
  }

  /** Auto-claim: hold a fair share of the member slots; take over slots whose holder died. */
  async function claimSlots(size: number, intervalMs: number, handoverMs: number) {
    const slotKey = claimKey(`subscription:${subscriberId}`);
    const presenceKey = claimKey(`subscription-presence:${subscriberId}`);
    const presenceId = Math.floor(Math.random() * 2 ** 31);
    while (running) {
      try {
        // Being counted among the live instances; taken again after its session was lost.
        if (!presence) {
          const claimed = (presence = await db.tryClaim(presenceKey, presenceId));
          void claimed?.lost.then(() => {
            if (presence === claimed) presence = null;
          });
        }
        const instances = Math.max(1, await db.countClaims(presenceKey));
        const fairShare = Math.ceil(size / instances);
        // Give back slots above the fair share so a newly started instance gets work.
        const held = [...runners.keys()].filter((key): key is number => key !== null);
        for (const key of held.slice(fairShare)) await stopRunner(key);
        for (let member = 0; member < size && runners.size < fairShare && running; member++) {
          if (runners.has(member)) continue;
          const claim = await db.tryClaim(slotKey, member);
          if (!claim) continue;
          const runner = startRunner({ member, size }, claim, handoverMs);
          // A lost lock session: the server has freed the slot for others, so stop handling it at once.
          void claim.lost.then(() => {
            if (runners.get(member) === runner) void stopRunner(member);
          });
          logger.info({ subscriberId, member, size }, 'claimed consumer group slot');
        }
      } catch (error) {
        logger.warn({ subscriberId, error: String(error) }, 'claiming consumer group slots failed; retrying');
      }
      await sleep(intervalMs, undefined, { signal: stopSignal.signal }).catch(() => {});
    }
  }

  return {
    parkingLot,
    members: () => [...runners.keys()],
    observe(observer) {
      observers.add(observer);
      return () => void observers.delete(observer);
    },
    async start() {
      if (running) return;
      running = true;
      stopSignal = new AbortController();
      if (wakeUps) {
        wakeAll = () => {
          for (const runner of runners.values()) runner.wake();
        };
        const wakeUpsOf = wakeUpsFor(db);
        // Consumers of a whole category take what the watcher read; filtered reads read for themselves.
        const fed = !isAll && !correlation && !consumerGroup;
        const unsubscribers = await Promise.all(
          // The parking lot too: a retry request is handled when the consumer is next idle.
          [isAll ? ALL_STREAMS : streamName, categoryOf(parkingLot.streamName)].map((category, index) =>
            wakeUpsOf.subscribe(category, () => wakeAll(), { feed: fed && index === 0 }),
          ),
        ).catch((error: unknown) => {
          logger.warn({ subscriberId, error: String(error) }, 'wake-ups unavailable; polling');
          tickIntervalMs = options.tickIntervalMs ?? 1000;
          return [];
        });
        watched = unsubscribers.length > 0;
        feed = fed && watched ? wakeUpsOf.feed : null;
        unsubscribe = async () => {
          await Promise.all(unsubscribers.map((each) => each()));
        };
      }
      if (consumerGroup && 'claim' in consumerGroup) {
        claimLoop = claimSlots(
          consumerGroup.size,
          consumerGroup.claimIntervalMs ?? 2_000,
          consumerGroup.handoverMs ?? (db.kind === 'postgres' ? 3_000 : 0),
        );
      } else {
        startRunner(consumerGroup, null);
      }
    },
    async stop() {
      if (!running) return;
      running = false;
      stopSignal.abort();
      await claimLoop;
      await Promise.all([...runners.keys()].map((key) => stopRunner(key)));
      await unsubscribe?.();
      feed = null;
      await presence?.release();
      presence = null;
    },
    async waitUntilCaughtUp({ timeoutMs = 30_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      // Caught up = a read that started after this call found nothing new.
      const startedBefore = new Map([...runners].map(([key, runner]) => [key, runner.readsStarted]));
      for (;;) {
        const active = [...runners];
        if (
          active.length > 0 &&
          active.every(([key, runner]) => runner.caughtUpAtRead > (startedBefore.get(key) ?? runner.readsStarted))
        )
          return;
        if (Date.now() > deadline)
          throw new Error(`Subscription ${subscriberId} did not catch up within ${timeoutMs} ms`);
        for (const [key, runner] of active) {
          if (!startedBefore.has(key)) startedBefore.set(key, runner.readsStarted);
          // What the watcher has not looked at yet is not in its feed: caught up is the database's answer.
          runner.readItself = true;
          runner.wake();
        }
        await sleep(5);
      }
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
