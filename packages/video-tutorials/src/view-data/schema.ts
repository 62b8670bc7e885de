import { POSITIONS_TABLE } from '../aggregators/aggregator.js';
import type { OwnedTable } from '../piece.js';

/**
 * One owner's part of View Data's schema: the tables it alone writes, with the rows they start with, and its SQL in
 * each migration step that touches them. Each aggregator declares its own in its folder's `schema.ts` (its
 * descriptor's tables are these); `migrations.ts` makes every step from the owners' parts, in order.
 */
export interface ViewDataSchema {
  tables: readonly OwnedTable[];
  /**
   * Its SQL in each migration step, by the step's name: several parts where another owner's SQL comes between
   * them in the step. Each part is kept as it was applied, with the whitespace before it, since a step once
   * applied never changes by a byte (databases record it by name; a fresh one must end as they did).
   */
  steps: Readonly<Record<string, string | readonly string[]>>;
}

/**
 * What belongs to View Data itself rather than to one aggregator: the tables every aggregator shares (their
 * positions; the record of the migrations applied, which `migrateViewData` creates before any step), and the SQL
 * of steps about several owners or none: the admin tables' preamble, and forgetting aggregators' positions so
 * that they apply their categories again from position 0.
 */
export const sharedSchema: ViewDataSchema = {
  tables: [{ name: POSITIONS_TABLE }, { name: 'view_data_migrations' }],
  steps: {
    '0005-admin': `
      -- The admin portal's View Data, kept by the admin aggregators from $all. Each table records the
      -- global position it has applied (per row or by key), so replays change nothing.`,
    '0006-consumer-positions': `
      -- Every aggregator's position (the global position it has applied up to), written in the
      -- transaction of the rows it applied: View Data says itself how far it is built. Components keep
      -- theirs in the message store (subscriberPosition-…). Group members are keyed 'id+{member}of{size}'.
      CREATE TABLE consumer_positions (
        subscriber_id text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );`,
    '0012-video-lifecycle': `
      DELETE FROM consumer_positions
       WHERE subscriber_id IN ('aggregators:creators-videos', 'aggregators:catalogue')
          OR subscriber_id LIKE 'aggregators:creators-videos+%'
          OR subscriber_id LIKE 'aggregators:catalogue+%';`,
    '0015-creators-names': `
      DELETE FROM consumer_positions
       WHERE subscriber_id = 'aggregators:user-credentials' OR subscriber_id LIKE 'aggregators:user-credentials+%';`,
  },
};
