import { setTimeout as sleep } from 'node:timers/promises';
import { v5 as uuidV5 } from 'uuid';
import type { Claim, Queryable } from './database/port.js';
import { isTransientDatabaseError } from './database/port.js';
import { InvalidMessageError } from './errors.js';
import type { StoredMessage } from './message.js';
import { createParkingLot, type ParkingLot } from './parking.js';
import { readAllInCommitOrder, type AllStreamReader } from './read-all.js';
import type { MessageStore } from './store.js';
import { ALL_STREAMS, category as categoryOf, isCategory } from './stream-name.js';
import { wakeUpsFor } from './wake-ups.js';

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

export type ConsumerGroup =
  /** This instance is one fixed member of a group of `size`. */
  | { member: number; size: number }
  /** This instance claims free member slots by itself (advisory locks on PostgreSQL). */
  | { size: number; claim: 'auto'; claimIntervalMs?: number };

export interface SubscriptionOptions {
  store: MessageStore;
  /** A category, or `$all`. */
  streamName: string;
  subscriberId: string;
  handlers?: Handlers;
  /** Batch mode, for aggregators whose View Data shares the message store's database. */
  handleBatch?: BatchHandler;
  messagesPerTick?: number;
  /** Record the position after this many messages (and on stop). */
  positionUpdateInterval?: number;
  /** Poll interval when caught up. Wake-ups cut the wait short. */
  tickIntervalMs?: number;
  /** Only messages whose origin (correlation) stream is in this category — filtered by Message DB. */
  originStreamName?: string;
  consumerGroup?: ConsumerGroup;
  /** Be woken by writes to the category (LISTEN/NOTIFY); default true. */
  wakeUps?: boolean;
  /** Attempts at one message before it is parked. */
  maxAttempts?: number;
  retryDelayMs?: number;
  logger?: Logger;
}

export interface Subscription {
  start(): Promise<void>;
  /** Finishes the message in hand, records the position and stops. */
  stop(): Promise<void>;
  /** Resolves once every message written before the call has been handled. */
  waitUntilCaughtUp(options?: { timeoutMs?: number }): Promise<void>;
  /** Member slots this instance runs now (all of them `[null]` without a group). */
  members(): (number | null)[];
  readonly parkingLot: ParkingLot;
}

const POSITION_NAMESPACE = '0e2d8f4c-7a43-4c55-9a63-3f0b6a1c2d7e';

export function positionStreamName(subscriberId: string, member?: { member: number; size: number }): string {
  const suffix = member ? `+${member.member}of${member.size}` : '';
  return `subscriberPosition-${subscriberId}${suffix}`;
}

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
    consumerGroup,
    wakeUps = true,
    maxAttempts = 3,
    retryDelayMs = 50,
    logger = silentLogger,
  } = options;
  // With wake-ups the poll is only a fallback, so it can be slow.
  const tickIntervalMs = options.tickIntervalMs ?? (wakeUps ? 1000 : 100);
  const db = store.db;
  const isAll = streamName === ALL_STREAMS;
  if (!isAll && !isCategory(streamName)) throw new Error(`A subscription reads a category or $all, not ${streamName}`);
  if (originStreamName && isAll) throw new Error('Origin filtering needs a category, not $all');
  const correlation = originStreamName ? categoryOf(originStreamName) : undefined;
  const parkingLot = createParkingLot(store, subscriberId);

  let running = false;
  const runners = new Map<number | null, MemberRunner>();
  let claimLoop: Promise<void> | undefined;
  let wakeAll: () => void = () => {};
  let unsubscribe: (() => Promise<void>) | undefined;
  let presence: Claim | null = null;
  let stopSignal = new AbortController();

  interface MemberRunner {
    member: { member: number; size: number } | undefined;
    position: number;
    /** Reads started so far, and the number of the last read that found nothing new. */
    readsStarted: number;
    caughtUpAtRead: number;
    positionLoaded: boolean;
    done: Promise<void>;
    wake: () => void;
    claim: Claim | null;
    stop: () => void;
  }

  function startRunner(member: { member: number; size: number } | undefined, claim: Claim | null) {
    const key = member?.member ?? null;
    const positionStream = positionStreamName(subscriberId, member);
    const allReader: AllStreamReader | null = isAll ? readAllInCommitOrder(db) : null;
    let wakeResolver: (() => void) | undefined;
    let woken = false;
    let stopped = false;
    const runner: MemberRunner = {
      member,
      position: 0,
      readsStarted: 0,
      caughtUpAtRead: 0,
      positionLoaded: false,
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

    const waitForWork = async (ms: number) => {
      if (woken) {
        woken = false;
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wakeResolver = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeResolver = undefined;
      woken = false;
    };

    const writePosition = async (position: number, target?: Queryable) => {
      const message = {
        id: uuidV5(`${positionStream}|${position}`, POSITION_NAMESPACE),
        type: 'Read',
        data: { position },
      };
      if (target) await store.writeInTransaction(target, positionStream, message);
      else await store.write(positionStream, message);
      unsavedMessages = 0;
    };

    const readBatch = async (): Promise<{ messages: StoredMessage[]; complete: boolean }> => {
      const from = runner.position + 1;
      if (allReader) return allReader.read(from, messagesPerTick);
      const messages = await store.read(streamName, from, messagesPerTick, {
        ...(correlation ? { correlation } : {}),
        ...(member ? { consumerGroup: member } : {}),
      });
      return { messages, complete: true };
    };

    const handleOne = async (message: StoredMessage) => {
      if (handleBatch) {
        await db.transaction(async (tx) => {
          await handleBatch([message], tx);
          await writePosition(message.globalPosition, tx);
        });
        return;
      }
      const handler = handlers[message.type] ?? handlers.$any;
      if (handler) await handler(message);
    };

    /** Handles a message with retries; parks it when it keeps failing. Transient failures never park. */
    const handleWithRetries = async (message: StoredMessage) => {
      let outages = 0;
      for (let attempt = 1; ; attempt++) {
        try {
          await handleOne(message);
          return;
        } catch (error) {
          if (isTransientDatabaseError(error)) {
            logger.warn({ subscriberId, error: String(error) }, 'database unreachable; retrying');
            if (stopped) throw error;
            await backoff(++outages);
            attempt--; // an outage is not the message's fault
            continue;
          }
          const permanent = error instanceof InvalidMessageError;
          if (permanent || attempt >= maxAttempts) {
            logger.error(
              { subscriberId, messageId: message.id, type: message.type, error: String(error) },
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
            return;
          }
          await sleep(retryDelayMs * 2 ** (attempt - 1));
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
        try {
          await db.transaction(async (tx) => {
            await handleBatch(messages, tx);
            await writePosition(last.globalPosition, tx);
          });
          runner.position = last.globalPosition;
          return;
        } catch (error) {
          if (isTransientDatabaseError(error)) throw error;
          logger.warn({ subscriberId, error: String(error) }, 'batch failed; applying one by one');
          // Fall through: one transaction per message isolates the one that fails.
        }
      }
      for (const message of messages) {
        if (stopped) return;
        await handleWithRetries(message);
        runner.position = message.globalPosition;
        if (!handleBatch && ++unsavedMessages >= positionUpdateInterval)
          await retryTransient(() => writePosition(runner.position));
      }
    };

    const loop = async () => {
      let failures = 0;
      while (!stopped) {
        try {
          if (!runner.positionLoaded) {
            const last = await store.readLastMessage(positionStream);
            runner.position = last ? Number(last.data.position) : 0;
            runner.positionLoaded = true;
          }
          const readNumber = ++runner.readsStarted;
          const { messages, complete } = await readBatch();
          failures = 0;
          if (messages.length === 0) {
            if (complete) runner.caughtUpAtRead = readNumber;
            if (key === null || key === 0) await retryParked();
            if (!stopped) await waitForWork(tickIntervalMs);
            continue;
          }
          await handleMessages(messages);
        } catch (error) {
          if (stopped) break;
          failures++;
          logger.warn({ subscriberId, member: key, error: String(error) }, 'consumer tick failed; retrying');
          await waitForWork(Math.min(100 * 2 ** Math.min(failures, 6), 5_000));
        }
      }
      if (unsavedMessages > 0) await retryTransient(() => writePosition(runner.position)).catch(() => {});
    };

    /** Handles retries that someone asked for (see ParkingLot.retry); member 0 only. */
    const retryParked = async () => {
      await parkingLot.processRetryRequests(async (message) => {
        if (handleBatch) {
          await db.transaction((tx) => handleBatch([message], tx));
          return;
        }
        const handler = handlers[message.type] ?? handlers.$any;
        if (handler) await handler(message);
      });
    };

    runner.done = loop().finally(async () => {
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
    runners.delete(key);
  }

  /** Auto-claim: hold a fair share of the member slots; take over slots whose holder died. */
  async function claimSlots(size: number, intervalMs: number) {
    const slotKey = claimKey(`subscription:${subscriberId}`);
    const presenceKey = claimKey(`subscription-presence:${subscriberId}`);
    presence = await db.tryClaim(presenceKey, Math.floor(Math.random() * 2 ** 31));
    while (running) {
      try {
        const instances = Math.max(1, await db.countClaims(presenceKey));
        const fairShare = Math.ceil(size / instances);
        // Give back slots above the fair share so a newly started instance gets work.
        const held = [...runners.keys()].filter((key): key is number => key !== null);
        for (const key of held.slice(fairShare)) await stopRunner(key);
        for (let member = 0; member < size && runners.size < fairShare && running; member++) {
          if (runners.has(member)) continue;
          const claim = await db.tryClaim(slotKey, member);
          if (!claim) continue;
          const runner = startRunner({ member, size }, claim);
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
    async start() {
      if (running) return;
      running = true;
      stopSignal = new AbortController();
      if (wakeUps) {
        wakeAll = () => {
          for (const runner of runners.values()) runner.wake();
        };
        unsubscribe = await wakeUpsFor(db)
          .subscribe(isAll ? ALL_STREAMS : streamName, () => wakeAll())
          .catch((error: unknown) => {
            logger.warn({ subscriberId, error: String(error) }, 'wake-ups unavailable; polling');
            return undefined;
          });
      }
      if (consumerGroup && 'claim' in consumerGroup) {
        claimLoop = claimSlots(consumerGroup.size, consumerGroup.claimIntervalMs ?? 2_000);
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
      await presence?.release();
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
          runner.wake();
        }
        await sleep(5);
      }
    },
  };
}
