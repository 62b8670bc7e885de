import type { ViewDataSchema } from '../../view-data/schema.js';

/** The account-sessions aggregator's table, `account_sessions`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'account_sessions' }],
  steps: {
    '0014-account-page': `
      CREATE TABLE account_sessions (
        session_id uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        device text,
        started_at timestamptz NOT NULL,
        last_seen_at timestamptz NOT NULL,
        ended_at timestamptz,
        -- the session stream position last applied
        session_position bigint NOT NULL
      );
      CREATE INDEX account_sessions_open ON account_sessions (user_id, last_seen_at DESC) WHERE ended_at IS NULL;`,
  },
};
