import type { Subscription } from 'message-db-toolkit';

/**
 * What every component and aggregator builds into: named, with the
 * subscriptions it runs. The composition root starts the pieces a process
 * is told to run (all by default) and stops them on SIGTERM.
 */
export interface Piece {
  /** The business name, e.g. `identity`, `send-email`, `home-page-aggregator`. */
  name: string;
  subscriptions: Subscription[];
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function pieceOf(name: string, subscriptions: Subscription[]): Piece {
  return {
    name,
    subscriptions,
    async start() {
      await Promise.all(subscriptions.map((subscription) => subscription.start()));
    },
    async stop() {
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
    },
  };
}

/**
 * One subscription of a piece, declared once in the piece's own index.ts: the piece subscribes with it, and the
 * system, the admin portal and `rebuild` read it from there (see docs/architecture.md, "Pieces").
 */
export interface SubscriptionDescriptor {
  /** The category it reads, or `$all`. */
  streamName: string;
  /** The key its position is stored under. */
  subscriberId: string;
  /** Ids whose position it takes on its first start: the book's, or this system's before (see the README). */
  continuesFrom?: string | readonly string[];
  /** Only messages caused by streams of this category. */
  originStreamName?: string;
}

/** A View Data table an aggregator owns: it is the table's only writer. */
export interface OwnedTable {
  /** The table's unqualified name, e.g. `pages`. */
  name: string;
  /**
   * Rows the table starts with, as its migration inserts them; SQL with unqualified table names (`rebuild` runs
   * it with the new tables first on the search path).
   */
  seed?: string;
}

/** What a piece declares about itself in its index.ts; src/pieces.ts adds how the system builds it. */
export interface PieceDescriptor {
  /** Its name for `--only` and the logs, e.g. `identity`, `home-page-aggregator`. */
  name: string;
  subscriptions: Readonly<Record<string, SubscriptionDescriptor>>;
  /** An aggregator's View Data tables. */
  tables?: readonly OwnedTable[];
}

export const subscriptionsOf = (descriptor: PieceDescriptor): SubscriptionDescriptor[] =>
  Object.values(descriptor.subscriptions);
