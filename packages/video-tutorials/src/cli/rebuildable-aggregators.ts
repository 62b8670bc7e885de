/**
 * What `rebuild` needs to know of each aggregator, from its descriptor (src/pieces.ts): the View Data tables it
 * owns (it is their only writer), the stream it subscribes to and the subscriber id its position is stored under.
 * A test checks that every folder in src/aggregators/ whose index.ts exports `build` is among them, and that each
 * subscriber id is the one its subscription really stores its position under.
 */
import type { Database, MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { OwnedTable } from '../piece.js';
import { AGGREGATORS, folderOf, type AggregatorPiece } from '../pieces.js';

export type { OwnedTable } from '../piece.js';

export interface RebuildableAggregator {
  /** The aggregator's folder under src/aggregators/, e.g. `home-page`. */
  name: string;
  /** Its piece name, accepted too, e.g. `home-page-aggregator`. */
  piece: string;
  /** The category it subscribes to (or `$all`). */
  streamName: string;
  /** Its position is the row of `consumer_positions` with this key. */
  subscriberId: string;
  tables: readonly OwnedTable[];
  /** Builds the aggregator (without starting it); `rebuild` uses its `apply`. */
  build: (deps: { store: MessageStore; viewData: Database }) => {
    apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>;
  };
}

const rebuildable = (aggregator: AggregatorPiece): RebuildableAggregator => ({
  name: folderOf(aggregator),
  piece: aggregator.name,
  ...aggregator.subscriptions.events,
  tables: aggregator.tables,
  build: aggregator.build,
});

export const REBUILDABLE_AGGREGATORS: readonly RebuildableAggregator[] = AGGREGATORS.map(rebuildable);

export const rebuildableNames = (registry: readonly RebuildableAggregator[] = REBUILDABLE_AGGREGATORS) =>
  registry.map((aggregator) => aggregator.name);

export class UnknownAggregatorError extends Error {
  override name = 'UnknownAggregatorError';
  constructor(
    readonly requested: string,
    readonly validNames: string[],
  ) {
    super(`Unknown aggregator "${requested}": choose one of ${validNames.join(', ')}`);
  }
}

/** The aggregator by its name or its piece name. */
export function findRebuildableAggregator(
  name: string,
  registry: readonly RebuildableAggregator[] = REBUILDABLE_AGGREGATORS,
): RebuildableAggregator {
  const found = registry.find((aggregator) => aggregator.name === name || aggregator.piece === name);
  if (!found) throw new UnknownAggregatorError(name, rebuildableNames(registry));
  return found;
}
