import type { ViewDataSchema } from '../../view-data/schema.js';

/**
 * The admin-message-index aggregator's tables, `admin_messages_by_trace` and `admin_messages_by_user`, as the
 * migrations make them (its `admin_messages_by_type`, made by 0005, went in 0007).
 */
export const schema: ViewDataSchema = {
  tables: [{ name: 'admin_messages_by_trace' }, { name: 'admin_messages_by_user' }],
  steps: {
    '0005-admin': `

      -- Indexes into the message store, by trace, by user and by type (admin-message-index aggregator).
      CREATE TABLE admin_messages_by_trace (
        trace_id text NOT NULL,
        global_position bigint NOT NULL,
        PRIMARY KEY (trace_id, global_position)
      );
      CREATE TABLE admin_messages_by_user (
        user_id text NOT NULL,
        global_position bigint NOT NULL,
        type text NOT NULL,
        PRIMARY KEY (user_id, global_position)
      );
      CREATE INDEX admin_messages_by_user_and_type ON admin_messages_by_user (user_id, type, global_position);
      CREATE TABLE admin_messages_by_type (
        type text NOT NULL,
        global_position bigint NOT NULL,
        category text NOT NULL,
        PRIMARY KEY (type, global_position)
      );
      CREATE INDEX admin_messages_by_category_and_type ON admin_messages_by_type (category, type, global_position);`,
    '0007-admin-index-without-type': `DROP TABLE IF EXISTS admin_messages_by_type;`,
  },
};
