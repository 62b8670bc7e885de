import type { Database, Queryable } from '@vt/message-store';
import { Umzug, type UmzugStorage } from 'umzug';

/**
 * View Data's schema, in order. View Data is never authoritative: every table
 * can be dropped and rebuilt from the message store. Each row records the
 * position of what it has applied so every update is idempotent.
 */
const MIGRATIONS: { name: string; up: string }[] = [
  {
    name: '0001-pages',
    up: `
      CREATE TABLE pages (
        page_name text PRIMARY KEY,
        page_data jsonb NOT NULL DEFAULT '{}'::jsonb,
        last_global_position bigint NOT NULL DEFAULT 0
      );
      INSERT INTO pages (page_name, page_data) VALUES ('home', '{"videosWatched": 0}'::jsonb);`,
  },
  {
    name: '0002-user-credentials',
    up: `
      CREATE TABLE user_credentials (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        password_hash text NOT NULL,
        locked boolean NOT NULL DEFAULT false,
        -- the identity stream position last applied
        identity_position bigint NOT NULL DEFAULT -1
      );
      CREATE UNIQUE INDEX user_credentials_email ON user_credentials (lower(email));`,
  },
  {
    name: '0003-registration-monitor',
    up: `
      CREATE TABLE registration_emails (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        registered_at timestamptz NOT NULL,
        email_sent_at timestamptz,
        overdue_since timestamptz
      );
      CREATE INDEX registration_emails_waiting ON registration_emails (registered_at)
        WHERE email_sent_at IS NULL AND overdue_since IS NULL;`,
  },
  {
    name: '0004-videos',
    up: `
      -- The creators portal: every video of its owner, whatever its state (creators-videos aggregator).
      CREATE TABLE creators_portal_videos (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'published', 'failed')),
        failure_reason text,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        source_uri text NOT NULL,
        transcoded_uri text,
        poster_uri text,
        transcription text,
        transcription_failure text,
        duration_seconds double precision,
        uploaded_at timestamptz NOT NULL,
        published_at timestamptz,
        -- the videoPublishing stream position last applied; views are counted by viewing stream position
        publishing_position bigint NOT NULL DEFAULT -1
      );
      CREATE INDEX creators_portal_videos_owner ON creators_portal_videos (owner_id, uploaded_at DESC);

      -- The views of every video, counted from its viewing stream (video-views aggregator).
      CREATE TABLE video_view_counts (
        video_id uuid PRIMARY KEY,
        view_count bigint NOT NULL
      );

      -- The public catalogue: shown once published_at is set (catalogue aggregator).
      CREATE TABLE video_catalogue (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        transcoded_uri text,
        poster_uri text,
        transcription text,
        duration_seconds double precision,
        published_at timestamptz,
        publishing_position bigint NOT NULL DEFAULT -1
      );
      CREATE INDEX video_catalogue_published ON video_catalogue (published_at DESC) WHERE published_at IS NOT NULL;

      -- The outcome of each naming/describing request, by the trace id of the request (video-operations aggregator).
      CREATE TABLE video_operations (
        trace_id text PRIMARY KEY,
        video_id uuid NOT NULL,
        user_id text,
        succeeded boolean NOT NULL,
        failure_reason text,
        completed_at timestamptz NOT NULL
      );`,
  },
];

// Concurrent starters: one migrates, the others wait and then find nothing to do.
const MIGRATION_LOCK_KEY = 7_240_113_095_114;

export async function migrateViewData(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS view_data_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const umzug = new Umzug({
      migrations: MIGRATIONS.map((migration) => ({ name: migration.name, up: () => tx.exec(migration.up) })),
      storage: storageIn(tx),
      logger: undefined,
    });
    const applied = await umzug.up();
    return applied.map((migration) => migration.name);
  });
}

function storageIn(tx: Queryable): UmzugStorage {
  return {
    async executed() {
      const rows = await tx.query<{ name: string }>('SELECT name FROM view_data_migrations ORDER BY name');
      return rows.map((row) => row.name);
    },
    async logMigration({ name }) {
      await tx.query('INSERT INTO view_data_migrations (name) VALUES ($1)', [name]);
    },
    async unlogMigration({ name }) {
      await tx.query('DELETE FROM view_data_migrations WHERE name = $1', [name]);
    },
  };
}
