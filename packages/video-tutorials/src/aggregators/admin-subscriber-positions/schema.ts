import type { ViewDataSchema } from '../../view-data/schema.js';

/** The admin-subscriber-positions aggregator's table, `admin_subscriber_positions`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'admin_subscriber_positions' }],
  steps: {
    '0005-admin': `

      -- The last Read of every position stream (admin-subscriber-positions aggregator).
      CREATE TABLE admin_subscriber_positions (
        stream_name text PRIMARY KEY,
        subscriber_id text NOT NULL,
        member integer,
        group_size integer,
        position bigint NOT NULL,
        last_global_position bigint NOT NULL,
        updated_at timestamptz NOT NULL
      );`,
  },
};
