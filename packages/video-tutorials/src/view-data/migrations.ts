import type { Database, Queryable } from 'message-db-toolkit';
import { Umzug, type UmzugStorage } from 'umzug';

/**
 * View Data's schema, in order. View Data is never authoritative: every table
 * can be dropped and rebuilt from the message store. Each row records the
 * position of what it has applied so every update is idempotent.
 */
export const VIEW_DATA_MIGRATIONS: readonly { name: string; up: string }[] = [
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
  {
    name: '0005-admin',
    up: `
      -- The admin portal's View Data, kept by the admin aggregators from $all. Each table records the
      -- global position it has applied (per row or by key), so replays change nothing.

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
      CREATE INDEX admin_users_by_email ON admin_users (email_key, id);

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
      );

      -- The last Read of every position stream (admin-subscriber-positions aggregator).
      CREATE TABLE admin_subscriber_positions (
        stream_name text PRIMARY KEY,
        subscriber_id text NOT NULL,
        member integer,
        group_size integer,
        position bigint NOT NULL,
        last_global_position bigint NOT NULL,
        updated_at timestamptz NOT NULL
      );

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
      CREATE INDEX admin_messages_by_category_and_type ON admin_messages_by_type (category, type, global_position);

      -- The health page's list of registrations the registration monitor flagged.
      CREATE INDEX registration_emails_overdue ON registration_emails (registered_at)
        WHERE overdue_since IS NOT NULL AND email_sent_at IS NULL;`,
  },
  {
    name: '0006-consumer-positions',
    up: `
      -- Every aggregator's position (the global position it has applied up to), written in the
      -- transaction of the rows it applied: View Data says itself how far it is built. Components keep
      -- theirs in the message store (subscriberPosition-…). Group members are keyed 'id+{member}of{size}'.
      CREATE TABLE consumer_positions (
        subscriber_id text PRIMARY KEY,
        position bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );`,
  },
  {
    // Pages by type search Message DB's own indexes: a copy of every message made every write cost more.
    name: '0007-admin-index-without-type',
    up: `DROP TABLE IF EXISTS admin_messages_by_type;`,
  },
  {
    name: '0008-accounts',
    up: `
      -- The outcome of each registration, for its status page (registration monitor).
      CREATE TABLE registration_outcomes (
        user_id uuid PRIMARY KEY,
        outcome text NOT NULL CHECK (outcome IN ('registered', 'rejected')),
        reason text
      );
      -- Confirmed addresses, sessions ended by identity (a lock, a password change), temporary locks.
      ALTER TABLE user_credentials
        ADD COLUMN email_confirmed boolean NOT NULL DEFAULT false,
        ADD COLUMN sessions_ended_at timestamptz,
        ADD COLUMN locked_until timestamptz;`,
  },
  {
    // A viewing's video id is kept as written: the book's system recorded its sample video as `12345`.
    name: '0009-view-counts-of-any-video-id',
    up: `ALTER TABLE video_view_counts ALTER COLUMN video_id TYPE text USING video_id::text;`,
  },
  {
    // The streams page reads Message DB's own indexes: a row per stream made every message to a new stream
    // cost a second row and three index entries more.
    name: '0010-admin-streams-from-message-db',
    up: `DROP TABLE IF EXISTS admin_streams;`,
  },
  {
    // The watch page's captions and timestamped transcript: the cues made from the transcription's timed words
    // (src/captions.ts), a JSON array of { start, end, lines }; null when the transcription has no word times.
    name: '0011-caption-cues',
    up: `ALTER TABLE video_catalogue ADD COLUMN caption_cues jsonb;`,
  },
  {
    // A video's life: public only by its owner's choice (listed), and deleted. listed is null for a video the
    // book's system published (no PublishingStarted of ours): public as the book showed it. Which rows are the
    // book's is known only from the log, so both tables are built again from position 0 (their aggregators'
    // positions go): until they have caught up, the portal and the catalogue show less.
    name: '0012-video-lifecycle',
    up: `
      ALTER TABLE creators_portal_videos ADD COLUMN listed boolean, ADD COLUMN deleted_at timestamptz;
      ALTER TABLE video_catalogue ADD COLUMN listed boolean, ADD COLUMN deleted_at timestamptz;
      DELETE FROM creators_portal_videos;
      DELETE FROM video_catalogue;
      DELETE FROM consumer_positions
       WHERE subscriber_id IN ('aggregators:creators-videos', 'aggregators:catalogue')
          OR subscriber_id LIKE 'aggregators:creators-videos+%'
          OR subscriber_id LIKE 'aggregators:catalogue+%';
      CREATE INDEX video_catalogue_public ON video_catalogue (published_at DESC)
       WHERE published_at IS NOT NULL AND deleted_at IS NULL AND listed IS NOT FALSE;`,
  },
  {
    // Learners' pages: full-text search over the catalogue, and keyset pagination of the catalogue and of
    // "my videos". The search document is generated by PostgreSQL from the row (so every write, replay and
    // rebuild keeps it right), weighted name A, description B, transcript C, each cut to a length a tsvector
    // always holds (1 MB at most): a hostile transcription can never make the catalogue aggregator fail.
    // The indexes are not partial: which videos are public is decided by the queries, in one place.
    name: '0013-catalogue-search-and-pages',
    up: `
      ALTER TABLE video_catalogue ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, left(name, 1000)), 'A') ||
        setweight(to_tsvector('english'::regconfig, left(description, 20000)), 'B') ||
        setweight(to_tsvector('english'::regconfig, left(coalesce(transcription, ''), 100000)), 'C')
      ) STORED;
      CREATE INDEX video_catalogue_search ON video_catalogue USING gin (search_document);
      CREATE INDEX video_catalogue_by_publishing ON video_catalogue (published_at DESC, id DESC);
      CREATE INDEX creators_portal_videos_owner_pages ON creators_portal_videos (owner_id, uploaded_at DESC, id DESC);`,
  },
  {
    // The account page. A deleted account's row stays, emptied, so that its events applied again resurrect
    // nothing; its address is free for a new account. Each user's sessions, to list them (account-sessions
    // aggregator): the device is a summary of the User-Agent, never the header itself.
    name: '0014-account-page',
    up: `
      ALTER TABLE user_credentials ADD COLUMN deleted_at timestamptz;
      DROP INDEX user_credentials_email;
      CREATE UNIQUE INDEX user_credentials_email ON user_credentials (lower(email)) WHERE deleted_at IS NULL;
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
  {
    // Creators' names in public: the display name each user gave at registration (none for the book's), kept by
    // the user-credentials aggregator from the identity category; a deleted account's row stays, emptied, so that
    // its Registered applied again brings nothing back. Its rows come from the log, so that aggregator's position
    // goes and it applies the identity category again from position 0, which changes nothing in user_credentials
    // (a row there applies only later stream positions). Until it has caught up, creators show as their handles.
    // And which event answered a request (video_operations): after a deletion there is no video to go back to.
    name: '0015-creators-names',
    up: `
      CREATE TABLE user_public_names (
        user_id uuid PRIMARY KEY,
        display_name text,
        deleted_at timestamptz,
        -- the identity stream position last applied
        identity_position bigint NOT NULL
      );
      DELETE FROM consumer_positions
       WHERE subscriber_id = 'aggregators:user-credentials' OR subscriber_id LIKE 'aggregators:user-credentials+%';
      ALTER TABLE video_operations ADD COLUMN answer_type text;`,
  },
];

/** The schema View Data's tables live in, in the message store's database or in one of its own. */
export const VIEW_DATA_SCHEMA = 'view_data';
/**
 * The search path of the one handle used for the message store and View Data when they share a database
 * (always with the embedded PGlite). Message DB's schema comes first, so that no View Data table can ever
 * shadow one of its objects; View Data's names resolve to `view_data`, where its migrations create them.
 */
export const SHARED_SEARCH_PATH: readonly string[] = ['message_store', VIEW_DATA_SCHEMA, 'public'];
/** The search path of a View Data database of its own (`DATABASE_URL` naming another database). */
export const VIEW_DATA_SEARCH_PATH: readonly string[] = [VIEW_DATA_SCHEMA, 'public'];

/**
 * Where versions before the `view_data` schema created View Data: unqualified, on the search path
 * `message_store, public`, so in the first of these that existed — `message_store` in the message store's
 * database, `public` in a database of its own. The schema holding `view_data_migrations` is the one.
 */
const EARLIER_SCHEMAS = ['message_store', 'public'] as const;
/**
 * The tables those versions' migrations (0001 to 0009) could have made: these move, nothing else (the
 * migrations since then may drop some of them, e.g. `admin_streams`, once moved).
 */
const TABLES_BEFORE_OWN_SCHEMA = [
  'view_data_migrations',
  'pages',
  'user_credentials',
  'registration_emails',
  'creators_portal_videos',
  'video_view_counts',
  'video_catalogue',
  'video_operations',
  'admin_users',
  'admin_streams',
  'admin_categories',
  'admin_subscriber_positions',
  'admin_messages_by_trace',
  'admin_messages_by_user',
  'admin_messages_by_type',
  'consumer_positions',
  'registration_outcomes',
];

export interface ViewDataMigrationReport {
  /** Migrations applied now, in order. */
  applied: string[];
  /** Tables an earlier version had made elsewhere, moved into `view_data` now, and where they were. */
  moved: { from: string; tables: string[] } | null;
}

// Concurrent starters: one migrates, the others wait and then find nothing to do.
const MIGRATION_LOCK_KEY = 7_240_113_095_114;

/**
 * Brings View Data up to date in its schema `view_data`: moves the tables an earlier version made in
 * `message_store` or `public` (rows, indexes and all), then applies the migrations not yet applied, in one
 * transaction. `db`'s search path must hold `view_data` (`SHARED_SEARCH_PATH` or `VIEW_DATA_SEARCH_PATH`),
 * since every query of View Data names its tables unqualified.
 */
export async function migrateViewData(db: Database): Promise<ViewDataMigrationReport> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${VIEW_DATA_SCHEMA}`);
    const [onPath] = await tx.query<{ found: boolean }>('SELECT $1 = ANY (current_schemas(false)) AS found', [
      VIEW_DATA_SCHEMA,
    ]);
    if (!onPath?.found)
      throw new Error(
        `View Data's database handle has no ${VIEW_DATA_SCHEMA} on its search path: open it with ` +
          `SHARED_SEARCH_PATH (with the message store) or VIEW_DATA_SEARCH_PATH (a database of its own)`,
      );
    const moved = await moveEarlierTables(tx);
    // Whatever the migrations create unqualified lands in view_data.
    await tx.query(`SELECT set_config('search_path', $1 || ', ' || current_setting('search_path'), true)`, [
      VIEW_DATA_SCHEMA,
    ]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS view_data_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const umzug = new Umzug({
      migrations: VIEW_DATA_MIGRATIONS.map((migration) => ({ name: migration.name, up: () => tx.exec(migration.up) })),
      storage: storageIn(tx),
      logger: undefined,
    });
    const applied = await umzug.up();
    return { applied: applied.map((migration) => migration.name), moved };
  });
}

/** Moves View Data made by a version before the `view_data` schema into it, once. */
async function moveEarlierTables(tx: Queryable): Promise<ViewDataMigrationReport['moved']> {
  const exists = async (schema: string, table: string) =>
    (await tx.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [`${schema}.${table}`]))[0]
      ?.found === true;
  if (await exists(VIEW_DATA_SCHEMA, 'view_data_migrations')) return null;
  for (const from of EARLIER_SCHEMAS) {
    if (!(await exists(from, 'view_data_migrations'))) continue;
    const tables: string[] = [];
    for (const table of TABLES_BEFORE_OWN_SCHEMA) {
      if (!(await exists(from, table))) continue;
      // Its indexes, constraints and owned sequences move with it; its rows are not copied.
      await tx.exec(`ALTER TABLE ${from}.${table} SET SCHEMA ${VIEW_DATA_SCHEMA}`);
      tables.push(table);
    }
    return { from, tables };
  }
  return null;
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
