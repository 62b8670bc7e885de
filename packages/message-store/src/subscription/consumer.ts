import { setTimeout as sleep } from 'node:timers/promises';
import type { Claim } from '../database/port.js';
import type { ConsumerInfo } from '../subscription.js';
import { dispatcher, type DispatchSettings } from './dispatcher.js';
import { backoffMs } from './outages.js';
import { consumerPosition, type PositionSettings } from './positions.js';
import { consumerReader, type ReaderSettings } from './reader.js';

export interface ConsumerSettings extends PositionSettings, ReaderSettings, DispatchSettings {
  subscriberId: string;
}

/** One member slot's consumer (a subscription without a group has one): reads, has it handled, waits for more. */
export interface Consumer {
  /** Reads started so far, and the number of the last read that found nothing new. */
  readonly readsStarted: number;
  readonly caughtUpAtRead: number;
  /**
   * The next read goes to the database, not the feed nor a shared read of `$all` another consumer began
   * (someone waits for a read begun after they asked).
   */
  readItself(): void;
  /** Ends once the consumer has stopped, its position recorded and its claim released. */
  readonly done: Promise<void>;
  wake(): void;
  /** Finishes the message in hand, then stops. */
  stop(): void;
}

/** Starts a consumer; a newly claimed slot first waits `handoverMs` (see `ConsumerGroup`). */
export function startConsumer(
  settings: ConsumerSettings,
  member: { member: number; size: number } | undefined,
  claim: Claim | null,
  handoverMs = 0,
): Consumer {
  const { subscriberId, streamName, messagesPerTick, logger, notify, watching } = settings;
  const key = member?.member ?? null;
  const info: ConsumerInfo = { subscriberId, streamName, member: key };
  let stopped = false;
  const isStopped = () => stopped;
  const position = consumerPosition(settings, { subscriberId, member }, info, isStopped);
  const reader = consumerReader(settings, member);
  const dispatch = dispatcher(settings, info, member, position, isStopped);
  let caughtUpAtRead = 0;

  let wakeResolver: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    wakeResolver?.();
  };
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

  const loop = async () => {
    let failures = 0;
    const handoverEnds = Date.now() + handoverMs;
    while (!stopped && Date.now() < handoverEnds) await waitForWork(handoverEnds - Date.now());
    while (!stopped) {
      try {
        if (!position.loaded) await position.load();
        const { readNumber, batch } = reader.read(position.current + 1);
        const { messages, complete } = await batch;
        failures = 0;
        if (messages.length === 0) {
          await position.finishRecording(); // caught up: what was handled is recorded before anyone is told
          if (complete) {
            caughtUpAtRead = readNumber;
            notify((observer) => observer.idle?.({ ...info, position: position.current }));
          }
          if (key === null || key === 0) await dispatch.retryParked(); // member 0 only
          // A gap in $all is looked at again soon: it may be a rollback, which nobody wakes us for.
          if (!stopped) await waitForWork(complete ? watching.tickIntervalMs : Math.min(watching.tickIntervalMs, 20));
          continue;
        }
        reader.readAheadAfter(messages);
        await dispatch.handle(messages);
        // A short batch was the end of what there is: the watcher wakes us for more, so no read to find nothing.
        if (watching.watched && complete && messages.length < messagesPerTick && !stopped)
          await waitForWork(watching.tickIntervalMs);
      } catch (error) {
        if (stopped) break;
        failures++;
        logger.warn({ subscriberId, member: key, error: String(error) }, 'consumer tick failed; retrying');
        await waitForWork(backoffMs(failures));
      }
    }
    await reader.settle();
    await position.finish();
  };

  return {
    get readsStarted() {
      return reader.readsStarted;
    },
    get caughtUpAtRead() {
      return caughtUpAtRead;
    },
    readItself: () => reader.readItself(),
    done: loop().finally(async () => {
      notify((observer) => observer.stopped?.(info));
      await claim?.release();
    }),
    wake,
    stop() {
      stopped = true;
      wake();
    },
  };
}

/** Resolves once every consumer has caught up with what was written before the call. */
export async function waitUntilCaughtUp(
  consumers: ReadonlyMap<number | null, Consumer>,
  subscriberId: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Caught up = a read that started after this call found nothing new.
  const startedBefore = new Map([...consumers].map(([key, consumer]) => [key, consumer.readsStarted]));
  for (;;) {
    const active = [...consumers];
    if (
      active.length > 0 &&
      active.every(([key, consumer]) => consumer.caughtUpAtRead > (startedBefore.get(key) ?? consumer.readsStarted))
    )
      return;
    if (Date.now() > deadline) throw new Error(`Subscription ${subscriberId} did not catch up within ${timeoutMs} ms`);
    for (const [key, consumer] of active) {
      if (!startedBefore.has(key)) startedBefore.set(key, consumer.readsStarted);
      // What the watcher has not looked at yet is not in its feed, nor in a shared $all read begun before the
      // call: caught up is the answer of a read of its own.
      consumer.readItself();
      consumer.wake();
    }
    await sleep(5);
  }
}
