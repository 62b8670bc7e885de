import { setTimeout as sleep } from 'node:timers/promises';
import type { Claim, Database } from '../database/port.js';
import type { Logger } from '../subscription.js';
import type { Consumer } from './consumer.js';

/** A 32-bit key from a name, for advisory-lock claims. */
export function claimKey(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193);
  return hash | 0;
}

export interface ClaimerSettings {
  db: Database;
  subscriberId: string;
  logger: Logger;
  /** The consumers this instance runs, by member slot. */
  consumers: ReadonlyMap<number | null, Consumer>;
  startConsumer: (member: { member: number; size: number }, claim: Claim, handoverMs: number) => Consumer;
  stopConsumer: (member: number) => Promise<void>;
  /** Whether the subscription still runs. */
  isRunning: () => boolean;
}

/** Claims member slots for as long as the subscription runs. */
export interface Claimer {
  /** Stops claiming (the slots held keep running). */
  stop(): Promise<void>;
  /** Stops being counted among the group's live instances. */
  leave(): Promise<void>;
}

/** Auto-claim: hold a fair share of the member slots; take over slots whose holder died. */
export function claimSlots(
  { db, subscriberId, logger, consumers, startConsumer, stopConsumer, isRunning }: ClaimerSettings,
  { size, intervalMs, handoverMs }: { size: number; intervalMs: number; handoverMs: number },
): Claimer {
  const slotKey = claimKey(`subscription:${subscriberId}`);
  const presenceKey = claimKey(`subscription-presence:${subscriberId}`);
  const presenceId = Math.floor(Math.random() * 2 ** 31);
  let presence: Claim | null = null;
  const stopSignal = new AbortController();

  const claimLoop = async () => {
    while (isRunning()) {
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
        const held = [...consumers.keys()].filter((key): key is number => key !== null);
        for (const key of held.slice(fairShare)) await stopConsumer(key);
        for (let member = 0; member < size && consumers.size < fairShare && isRunning(); member++) {
          if (consumers.has(member)) continue;
          const claim = await db.tryClaim(slotKey, member);
          if (!claim) continue;
          const consumer = startConsumer({ member, size }, claim, handoverMs);
          // A lost lock session: the server has freed the slot for others, so stop handling it at once.
          void claim.lost.then(() => {
            if (consumers.get(member) === consumer) void stopConsumer(member);
          });
          logger.info({ subscriberId, member, size }, 'claimed consumer group slot');
        }
      } catch (error) {
        logger.warn({ subscriberId, error: String(error) }, 'claiming consumer group slots failed; retrying');
      }
      await sleep(intervalMs, undefined, { signal: stopSignal.signal }).catch(() => {});
    }
  };
  const claiming = claimLoop();

  return {
    async stop() {
      stopSignal.abort();
      await claiming;
    },
    async leave() {
      await presence?.release();
      presence = null;
    },
  };
}
