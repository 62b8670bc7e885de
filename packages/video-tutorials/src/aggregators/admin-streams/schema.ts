import type { ViewDataSchema } from '../../view-data/schema.js';

/**
 * The admin-streams aggregator's table, `admin_categories`, as the migrations make it (its `admin_streams`,
 * made by 0005, went in 0010: streams are read from Message DB's own indexes).
 */
export const schema: ViewDataSchema = {
  tables: [{ name: 'admin_categories' }],
  steps: {
    '0005-admin': `

      -- Every stream: a stream's message count is its last position + 1 (admin-streams aggregator).
      CREATE TABLE admin_streams (
        stream_name text PRIMARY KEY,
        category text NOT NULL,
        message_count bigint NOT NULL,
        last_position bigint NOT NULL,
        last_global_position bigint NOT NULL,
        last_type text NOT NULL,
        last_time timestamptz NOT NULL
      );
      CREATE INDEX admin_streams_recent ON admin_streams (last_global_position DESC);
      CREATE INDEX admin_streams_by_category ON admin_streams (category, last_global_position DESC);

      -- Messages and streams (first messages) per category and type (admin-streams aggregator).
      CREATE TABLE admin_categories (
        category text NOT NULL,
        type text NOT NULL,
        message_count bigint NOT NULL,
        stream_count bigint NOT NULL,
        last_global_position bigint NOT NULL,
        last_time timestamptz NOT NULL,
        PRIMARY KEY (category, type)
      );`,
    '0010-admin-streams-from-message-db': `DROP TABLE IF EXISTS admin_streams;`,
  },
};
