import type { Piece } from '../piece.js';

/**
 * The View Data changes committed in this process: a count, moved on each time one of the process's
 * aggregators records a new position (its rows and position commit together, so the rows are in by
 * then). A cache that remembers the count it loaded at knows whether anything changed here since.
 * Changes committed by another process's aggregators are not counted: there only a cache's age tells.
 */
export interface ViewDataChanges {
  readonly count: number;
  changed(): void;
}

export function createViewDataChanges(): ViewDataChanges {
  let count = 0;
  return {
    get count() {
      return count;
    },
    changed() {
      count++;
    },
  };
}

/** Moves `changes` on whenever an aggregator among `pieces` commits (a position recorded after its batch). */
export function countAggregatorCommits(pieces: readonly Piece[], changes: ViewDataChanges): void {
  for (const piece of pieces)
    for (const subscription of piece.subscriptions)
      subscription.observe({
        position({ subscriberId }) {
          if (subscriberId.startsWith('aggregators:')) changes.changed();
        },
      });
}

export interface ShortLivedCacheOptions {
  /** How long a value is used before it is loaded again: what it may lag behind another process's changes. */
  ttlMs: number;
  /** This process's View Data changes: any of them makes every value older than it stale at once. */
  changes?: ViewDataChanges | undefined;
  /** The most values kept; the oldest goes first. */
  maxEntries?: number;
  /** Replaceable in tests, to let time pass. */
  now?: () => number;
}

export interface ShortLivedCache<V> {
  /** The value for `key`: kept while fresh, else loaded once for every caller asking meanwhile. */
  get(key: string, load: () => Promise<V>): Promise<V>;
  /** Drops `key`: the next `get` loads it again, whatever a load already in flight answers. */
  forget(key: string): void;
}

interface Entry<V> {
  value: Promise<V>;
  /** When its load began, and the count of changes then: the value is at least that fresh. */
  loadedAt: number;
  changes: number;
}

export function shortLivedCache<V>({
  ttlMs,
  changes,
  maxEntries = 1000,
  now = () => Date.now(),
}: ShortLivedCacheOptions): ShortLivedCache<V> {
  const entries = new Map<string, Entry<V>>();
  const changeCount = () => changes?.count ?? 0;
  return {
    get(key, load) {
      const at = now();
      const kept = entries.get(key);
      if (kept && at - kept.loadedAt < ttlMs && kept.changes === changeCount()) return kept.value;
      // Stored before it resolves, so concurrent callers share one load; stamped with its start, not its end.
      const entry: Entry<V> = { value: load(), loadedAt: at, changes: changeCount() };
      entries.delete(key); // re-inserted last: the Map's order is the order of loads
      entries.set(key, entry);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
      // A failed load is not kept: the next caller tries again (and a 503 is not remembered).
      entry.value.catch(() => {
        if (entries.get(key) === entry) entries.delete(key);
      });
      return entry.value;
    },
    forget(key) {
      entries.delete(key);
    },
  };
}
