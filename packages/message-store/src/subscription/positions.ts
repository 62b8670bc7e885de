import type { Queryable } from '../database/port.js';
import type { PositionOwner, PositionStore } from '../positions.js';
import type { ConsumerInfo, Logger, SubscriptionObserver } from '../subscription.js';
import { retryTransient } from './outages.js';

export interface PositionSettings {
  positions: PositionStore;
  /** Subscriber ids whose recorded position a first start continues from (see `continuesFrom`). */
  predecessors: readonly string[];
  positionUpdateInterval: number;
  logger: Logger;
  notify: (tell: (observer: SubscriptionObserver) => void) => void;
}

/** Where one consumer has got to, and keeping that recorded. */
export interface ConsumerPosition {
  /** The global position of the last message read past (handled, parked or without a handler). */
  readonly current: number;
  readonly loaded: boolean;
  /** Loads the position to start from (told to the observers). */
  load(): Promise<void>;
  /** Moves on past `position` (told to the observers). */
  moveTo(position: number): void;
  /** Records `position`, in `tx` when given. */
  record(position: number, tx?: Queryable): Promise<void>;
  /** One more message read past: every `positionUpdateInterval` of them, the position is recorded meanwhile. */
  countOne(): Promise<void>;
  /** Messages read past whose position stays in memory, until the next record or the stop. */
  keepUnrecorded(count: number): void;
  /** Waits for the record under way, if any; its failure surfaces here. */
  finishRecording(): Promise<void>;
  /** At stop: records what was read past and not recorded yet, as far as it can. */
  finish(): Promise<void>;
}

export function consumerPosition(
  { positions, predecessors, positionUpdateInterval, logger, notify }: PositionSettings,
  owner: PositionOwner,
  consumer: ConsumerInfo,
  isStopped: () => boolean,
): ConsumerPosition {
  const { subscriberId, member } = owner;
  let current = 0;
  let loaded = false;
  let unsavedMessages = 0;

  const record = async (position: number, tx?: Queryable) => {
    await positions.write(owner, position, tx);
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
      await record(position);
      logger.info(
        { subscriberId, member: consumer.member, continuesFrom: predecessor, position },
        'no position of its own yet: continuing from its predecessor’s',
      );
      return position;
    }
    return 0;
  };

  const moveTo = (position: number) => {
    current = position;
    notify((observer) => observer.position({ ...consumer, position }));
  };

  /**
   * A position is recorded while the next messages are handled rather than before: its commit (a
   * disk flush on PostgreSQL) then costs the consumer nothing. One record at a time, in order; a
   * failure surfaces at the next one, or at the end.
   */
  let recording: Promise<void> | undefined;
  const recordMeanwhile = async () => {
    await finishRecording();
    const position = current;
    unsavedMessages = 0;
    recording = retryTransient(() => positions.write(owner, position), isStopped);
    recording.catch(() => {}); // awaited by finishRecording
  };
  const finishRecording = async () => {
    const previous = recording;
    recording = undefined;
    await previous;
  };

  return {
    get current() {
      return current;
    },
    get loaded() {
      return loaded;
    },
    async load() {
      const position = await startingPosition();
      loaded = true;
      moveTo(position);
    },
    moveTo,
    record,
    async countOne() {
      if (++unsavedMessages >= positionUpdateInterval) await recordMeanwhile();
    },
    keepUnrecorded(count) {
      unsavedMessages += count;
    },
    finishRecording,
    async finish() {
      await finishRecording().catch(() => {});
      if (unsavedMessages > 0) await retryTransient(() => record(current), isStopped).catch(() => {});
    },
  };
}
