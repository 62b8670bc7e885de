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
