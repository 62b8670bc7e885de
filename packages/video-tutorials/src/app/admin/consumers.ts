import { SUBSCRIPTIONS } from '../../pieces.js';

/**
 * What each consumer of this system reads — a category or `$all` — by subscriber id, from the pieces' descriptors
 * (src/pieces.ts). The admin portal needs it to tell how far behind a consumer is.
 */
export const CONSUMER_READS: Readonly<Record<string, string>> = Object.fromEntries(
  SUBSCRIPTIONS.map(({ subscriberId, streamName }) => [subscriberId, streamName]),
);

export const readsOf = (subscriberId: string): string | null => CONSUMER_READS[subscriberId] ?? null;

/**
 * Subscriber ids no consumer of this system uses any more, by the consumers that carried on from them
 * (`continuesFrom` in the descriptors): the book's, which its system may still be recording, and this system's
 * earlier ones. The admin portal shows their positions as theirs, without a lag: they are nobody's work left undone.
 */
export const CARRIED_ON_BY: Readonly<Record<string, readonly string[]>> = carriedOn();

function carriedOn() {
  const successors: Record<string, string[]> = {};
  for (const { subscriberId, continuesFrom = [] } of SUBSCRIPTIONS)
    for (const predecessor of typeof continuesFrom === 'string' ? [continuesFrom] : continuesFrom)
      (successors[predecessor] ??= []).push(subscriberId);
  return successors;
}

export const carriedOnBy = (subscriberId: string): readonly string[] => CARRIED_ON_BY[subscriberId] ?? [];
