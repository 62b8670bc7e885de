import type { ViewDataSchema } from '../../view-data/schema.js';

/** The admin-users aggregator's table, `admin_users`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'admin_users' }],
  steps: {
    '0005-admin': `

      -- Each user as the admin portal lists them (admin-users aggregator).
      CREATE TABLE admin_users (
        id uuid PRIMARY KEY,
        email text,
        -- lower-cased e-mail ('~' while unknown), for paging in e-mail order
        email_key text COLLATE "C" NOT NULL DEFAULT '~',
        registered_at timestamptz,
        registration_email_sent_at timestamptz,
        -- null: never locked or unlocked
        locked boolean,
        locked_at timestamptz,
        login_count bigint NOT NULL DEFAULT 0,
        failed_login_count bigint NOT NULL DEFAULT 0,
        last_logged_in_at timestamptz,
        view_count bigint NOT NULL DEFAULT 0,
        last_viewed_at timestamptz,
        last_global_position bigint NOT NULL
      );
      CREATE INDEX admin_users_by_email ON admin_users (email_key, id);`,
  },
};
