import type { ViewDataSchema } from '../../view-data/schema.js';

/**
 * The user-credentials aggregator's tables, as the migrations make them: `user_credentials` (log-in, locks,
 * sessions ended) and `user_public_names` (the names public pages show).
 */
export const schema: ViewDataSchema = {
  tables: [{ name: 'user_credentials' }, { name: 'user_public_names' }],
  steps: {
    '0002-user-credentials': `
      CREATE TABLE user_credentials (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        password_hash text NOT NULL,
        locked boolean NOT NULL DEFAULT false,
        -- the identity stream position last applied
        identity_position bigint NOT NULL DEFAULT -1
      );
      CREATE UNIQUE INDEX user_credentials_email ON user_credentials (lower(email));`,
    '0008-accounts': `
      -- Confirmed addresses, sessions ended by identity (a lock, a password change), temporary locks.
      ALTER TABLE user_credentials
        ADD COLUMN email_confirmed boolean NOT NULL DEFAULT false,
        ADD COLUMN sessions_ended_at timestamptz,
        ADD COLUMN locked_until timestamptz;`,
    '0014-account-page': `
      ALTER TABLE user_credentials ADD COLUMN deleted_at timestamptz;
      DROP INDEX user_credentials_email;
      CREATE UNIQUE INDEX user_credentials_email ON user_credentials (lower(email)) WHERE deleted_at IS NULL;`,
    '0015-creators-names': `
      CREATE TABLE user_public_names (
        user_id uuid PRIMARY KEY,
        display_name text,
        deleted_at timestamptz,
        -- the identity stream position last applied
        identity_position bigint NOT NULL
      );`,
  },
};
