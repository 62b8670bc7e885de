import { performance } from 'node:perf_hooks';
import type { StoredMessage } from '../message.js';
import { readAllShared } from '../read-all.js';
import type { ParkingLot } from '../parking.js';
import { databaseOf, type MessageStore } from '../store.js';
import { ALL_STREAMS, category as categoryOf } from '../stream-name.js';
import type { Logger } from '../subscription.js';
import { wakeUpsFor, type CategoryFeed } from '../wake-ups.js';

/** How long a fed consumer takes the watcher's word before it reads its category itself once more. */
const FEED_TRUST_MS = 1_000;

/** The process's wake-up watcher as a subscription's consumers see it: set at start, read as they go. */
export interface Watching {
  /** Whether the wake-up watcher is on for this subscription. */
  watched: boolean;
  /** What the process's watcher read of this category, when this subscription is fed by it. */
  feed: CategoryFeed | null;
  /** Poll interval when caught up. */
  tickIntervalMs: number;
}

export interface ReaderSettings {
  store: MessageStore;
  /** A category, or `$all`. */
  streamName: string;
  messagesPerTick: number;
  /** The origin category filtered on (Message DB's correlation), if any. */
  correlation: string | undefined;
  originWithoutCorrelation: boolean;
  watching: Watching;
}

export interface Batch {
  messages: StoredMessage[];
  /** False when a read of `$all` stopped at a gap that may yet fill. */
  complete: boolean;
}

/** One consumer's reads of its category or `$all`. */
export interface ConsumerReader {
  /** Reads started so far. */
  readonly readsStarted: number;
  /** The read of what follows `from`: the read ahead when it began there, else a new one; with its number. */
  read(from: number): { readNumber: number; batch: Promise<Batch> };
  /** After a full batch of a category, more may follow: the next read runs while this batch is handled. */
  readAheadAfter(messages: StoredMessage[]): void;
  /**
   * The next read goes to the database, not the feed nor a shared read of `$all` another consumer began
   * (someone waits for a read begun after they asked).
   */
  readItself(): void;
  /** At stop: lets a read ahead end. */
  settle(): Promise<void>;
}

export function consumerReader(
  { store, streamName, messagesPerTick, correlation, originWithoutCorrelation, watching }: ReaderSettings,
  member: { member: number; size: number } | undefined,
): ConsumerReader {
  const allReader = streamName === ALL_STREAMS ? readAllShared(databaseOf(store)) : null;
  let readsStarted = 0;
  let readItself = false;

  /**
   * Fed by the watcher (see CategoryFeed): from which look on it holds what this consumer has not read
   * itself, and until when that stands before the consumer reads its category once more — a
   * safeguard against writers that insert rows without Message DB's category lock.
   */
  let fedSince: { look: number; until: number } | null = null;
  const readBatch = async (from: number): Promise<Batch> => {
    if (allReader) {
      // The shared reader may answer with a read another consumer began earlier: one someone waits on begins now.
      const beginNow = readItself;
      readItself = false;
      return allReader.read(from, messagesPerTick, { beginNow });
    }
    const { feed } = watching;
    if (feed && fedSince && !readItself && performance.now() < fedSince.until) {
      const fed = feed.read(streamName, fedSince.look, from, messagesPerTick);
      if (fed) {
        if (!fed.truncated) fedSince.look = fed.throughLook + 1;
        return { messages: fed.messages, complete: true };
      }
    }
    readItself = false;
    const look = feed?.currentLook() ?? 0;
    const messages = await store.read(streamName, {
      from: from,
      max: messagesPerTick,
      ...(correlation ? { correlation, originWithoutCorrelation } : {}),
      ...(member ? { consumerGroup: member } : {}),
    });
    // A read cut short leaves messages behind that the feed never held.
    fedSince =
      watching.feed && messages.length < messagesPerTick ? { look, until: performance.now() + FEED_TRUST_MS } : null;
    return { messages, complete: true };
  };

  /** The next read of a category, started while a full batch is handled; used only if it reads on from there. */
  let readAhead: { from: number; readNumber: number; batch: Promise<Batch> } | undefined;

  return {
    get readsStarted() {
      return readsStarted;
    },
    read(from) {
      const ahead = readAhead;
      readAhead = undefined;
      if (ahead?.from === from) return ahead;
      return { readNumber: ++readsStarted, batch: readBatch(from) };
    },
    readAheadAfter(messages) {
      // ($all reads wait for gaps to close, so they stay one at a time.)
      const last = messages.at(-1);
      if (allReader || !last || messages.length < messagesPerTick) return;
      const from = last.globalPosition + 1;
      readAhead = { from, readNumber: ++readsStarted, batch: readBatch(from) };
      readAhead.batch.catch(() => {}); // a failed read ahead fails when used, or never matters
    },
    readItself() {
      readItself = true;
    },
    async settle() {
      await readAhead?.batch.catch(() => {});
      readAhead = undefined;
    },
  };
}

/**
 * Has the process's wake-up watcher wake the consumers (`wake`) on writes to the subscription's
 * category or `$all`, and to its parking lot; consumers of a whole category (`fed`) take what the
 * watcher read. Without the watcher, caught-up consumers poll. Returns how to stop being woken.
 */
export async function watchWrites(
  { store, streamName, parkingLot, watching, logger, subscriberId }: WatchSettings,
  { fed, wake, tickIntervalMs }: { fed: boolean; wake: () => void; tickIntervalMs: number | undefined },
): Promise<() => Promise<void>> {
  const wakeUpsOf = wakeUpsFor(databaseOf(store));
  const unsubscribers = await Promise.all(
    // The parking lot too: a retry request is handled when the consumer is next idle.
    [streamName, categoryOf(parkingLot.streamName)].map((category, index) =>
      wakeUpsOf.subscribe(category, wake, { feed: fed && index === 0 }),
    ),
  ).catch((error: unknown) => {
    logger.warn({ subscriberId, error: String(error) }, 'wake-ups unavailable; polling');
    watching.tickIntervalMs = tickIntervalMs ?? 1000;
    return [];
  });
  watching.watched = unsubscribers.length > 0;
  watching.feed = fed && watching.watched ? wakeUpsOf.feed : null;
  return async () => {
    await Promise.all(unsubscribers.map((each) => each()));
  };
}

interface WatchSettings extends Pick<ReaderSettings, 'store' | 'streamName' | 'watching'> {
  parkingLot: ParkingLot;
  logger: Logger;
  subscriberId: string;
}
