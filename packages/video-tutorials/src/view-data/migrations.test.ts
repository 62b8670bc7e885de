import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMessageStore, installMessageDb, type Database, type Queryable } from 'message-db-toolkit';
import { createPgliteDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { createTestDatabase, type TestDatabase, testPgliteTemplate } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { viewDataPositions } from '../aggregators/aggregator.js';
import { readConfig } from '../config.js';
import { startSystem } from '../system.js';
import {
  composeMigrations,
  migrateViewData,
  SHARED_SEARCH_PATH,
  VIEW_DATA_MIGRATIONS,
  VIEW_DATA_OWNERS,
  VIEW_DATA_SCHEMA,
  VIEW_DATA_SEARCH_PATH,
} from './migrations.js';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase({ install: false, searchPath: VIEW_DATA_SEARCH_PATH });
});
afterAll(() => test.drop());

/** Tables (r), indexes (i) and sequences (S) of `schema`, by name. */
const relationsIn = async (db: Queryable, schema: string) =>
  (
    await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'i', 'S') ORDER BY c.relname`,
      [schema],
    )
  ).map((row) => row.name);

/** What an earlier version made that a later migration drops once it is moved: the table and its indexes. */
const withoutDropped = (relations: string[]) => relations.filter((name) => !name.startsWith('admin_streams'));
/**
 * Relations the migrations since then add to the moved tables (0012: the public catalogue's index; 0013: the
 * catalogue's search and pages' indexes; 0014: the account page's sessions table with its key and index; 0015: the
 * creators' public names with their key).
 */
const ADDED_SINCE = [
  'account_sessions',
  'account_sessions_open',
  'account_sessions_pkey',
  'user_public_names',
  'user_public_names_pkey',
  'video_catalogue_public',
  'creators_portal_videos_owner_pages',
  'video_catalogue_by_publishing',
  'video_catalogue_search',
];
/** What View Data holds once an earlier version's tables are moved and migrated. */
const afterMigrating = (earlier: string[]) => [...withoutDropped(earlier), ...ADDED_SINCE].sort();

/** The migrations of the last version before the view_data schema. */
const EARLIER_MIGRATIONS = 9;

/**
 * View Data as versions before the view_data schema made it: their migrations (0001 to 0009) run
 * unqualified on Message DB's search path, so into the first of message_store and public that exists.
 */
async function migrateAsEarlierVersions(db: Database) {
  await db.transaction(async (tx) => {
    await tx.exec('SET LOCAL search_path = message_store, public');
    await tx.exec(
      'CREATE TABLE view_data_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    for (const migration of VIEW_DATA_MIGRATIONS.slice(0, EARLIER_MIGRATIONS)) {
      await tx.exec(migration.up);
      await tx.query('INSERT INTO view_data_migrations (name) VALUES ($1)', [migration.name]);
    }
    // Data of theirs that must survive the move.
    await tx.query(
      `UPDATE pages SET page_data = '{"videosWatched": 150}', last_global_position = 300 WHERE page_name = 'home'`,
    );
    await tx.query(`INSERT INTO consumer_positions (subscriber_id, position) VALUES ('aggregators:home-page', 300)`);
    await tx.query(
      `INSERT INTO user_credentials (id, email, password_hash) VALUES ('0b8f7e0c-5b55-4d1a-9c5e-0a5c2d0f3b11', 'ann@example.com', 'h')`,
    );
  });
}

describe('View Data migrations', () => {
  it('apply in order once, and do nothing the next time', async () => {
    const first = await migrateViewData(test.db);
    expect(first.applied[0]).toBe('0001-pages');
    expect(first.applied).toEqual([...first.applied].sort());
    expect(first.moved).toBeNull();
    expect(await migrateViewData(test.db)).toEqual({ applied: [], moved: null });
    expect(await test.db.query(`SELECT page_data FROM pages WHERE page_name = 'home'`)).toEqual([
      { page_data: { videosWatched: 0 } },
    ]);
  });

  it('are safe when several processes start at once', async () => {
    expect(await Promise.all([migrateViewData(test.db), migrateViewData(test.db)])).toEqual([
      { applied: [], moved: null },
      { applied: [], moved: null },
    ]);
  });

  it('put every table of a database of its own in view_data, nothing in public', async () => {
    expect(await relationsIn(test.db, 'public')).toEqual([]);
    expect(await relationsIn(test.db, VIEW_DATA_SCHEMA)).toEqual(
      expect.arrayContaining(['pages', 'consumer_positions', 'view_data_migrations', 'user_credentials_email']),
    );
  });

  it('refuse a handle whose search path does not hold view_data', async () => {
    const other = await createTestDatabase({ install: false });
    try {
      await expect(migrateViewData(other.db)).rejects.toThrow(/no view_data on its search path/);
    } finally {
      await other.drop();
    }
  });
});

describe('View Data in the message store’s database', () => {
  let shared: TestDatabase;
  beforeAll(async () => {
    shared = await createTestDatabase({ searchPath: SHARED_SEARCH_PATH });
  });
  afterAll(() => shared.drop());

  it('leaves nothing of View Data in message_store or public on a fresh install', async () => {
    const messageDbOnly = await relationsIn(shared.db, 'message_store');
    await migrateViewData(shared.db);
    expect(await relationsIn(shared.db, 'message_store')).toEqual(messageDbOnly);
    expect(await relationsIn(shared.db, 'public')).toEqual([]);
    expect(await relationsIn(shared.db, VIEW_DATA_SCHEMA)).toContain('admin_categories_pkey');
    // Streams are read from Message DB's own indexes: no copy of them.
    expect(await relationsIn(shared.db, VIEW_DATA_SCHEMA)).not.toContain('admin_streams');
    // Message DB keeps working on the shared handle.
    const store = createMessageStore({ db: shared.db });
    await store.write('viewing-1', { id: randomUUID(), type: 'VideoViewed', data: {} });
    expect(await store.readLastMessage('viewing-1')).toMatchObject({ type: 'VideoViewed' });
  });

  it('shadows none of Message DB’s objects: no View Data name is one of message_store’s', async () => {
    const clashes = await shared.db.query(
      `SELECT v.relname FROM pg_class v JOIN pg_namespace vn ON vn.oid = v.relnamespace
         JOIN pg_class m ON m.relname = v.relname JOIN pg_namespace mn ON mn.oid = m.relnamespace
        WHERE vn.nspname = $1 AND mn.nspname = 'message_store'`,
      [VIEW_DATA_SCHEMA],
    );
    expect(clashes).toEqual([]);
  });
});

describe('View Data made by an earlier version', () => {
  it('moves from message_store into view_data, rows, indexes and positions kept', async () => {
    const earlier = await createTestDatabase({ searchPath: SHARED_SEARCH_PATH });
    try {
      const messageDbOnly = await relationsIn(earlier.db, 'message_store');
      await migrateAsEarlierVersions(earlier.db);
      const earlierTables = (await relationsIn(earlier.db, 'message_store')).filter(
        (name) => !messageDbOnly.includes(name),
      );
      expect(earlierTables).toContain('pages'); // the layout being moved is the earlier one

      const report = await migrateViewData(earlier.db);
      expect(report.moved?.from).toBe('message_store');
      expect(report.applied).toEqual(VIEW_DATA_MIGRATIONS.slice(EARLIER_MIGRATIONS).map((migration) => migration.name));
      expect(await relationsIn(earlier.db, 'message_store')).toEqual(messageDbOnly);
      expect(report.moved?.tables).toContain('admin_streams');
      expect(await relationsIn(earlier.db, VIEW_DATA_SCHEMA)).toEqual(afterMigrating(earlierTables));
      expect(await earlier.db.query(`SELECT page_data FROM pages WHERE page_name = 'home'`)).toEqual([
        { page_data: { videosWatched: 150 } },
      ]);
      expect(await earlier.db.query(`SELECT email FROM user_credentials`)).toEqual([{ email: 'ann@example.com' }]);
      // The unique index moved with its table and still holds.
      await expect(
        earlier.db.query(
          `INSERT INTO user_credentials (id, email, password_hash) VALUES ('1b8f7e0c-5b55-4d1a-9c5e-0a5c2d0f3b11', 'ANN@example.com', 'h')`,
        ),
      ).rejects.toThrow(/user_credentials_email/);
      // The aggregators' positions moved with their rows: they resume, not rebuild from 0.
      expect(await viewDataPositions(earlier.db).read({ subscriberId: 'aggregators:home-page' })).toBe(300);
      expect(await migrateViewData(earlier.db)).toEqual({ applied: [], moved: null });
    } finally {
      await earlier.drop();
    }
  });

  it('moves from public, in a View Data database of its own', async () => {
    const earlier = await createTestDatabase({ install: false, searchPath: VIEW_DATA_SEARCH_PATH });
    try {
      await migrateAsEarlierVersions(earlier.db);
      const earlierTables = await relationsIn(earlier.db, 'public');
      expect(earlierTables).toContain('pages');
      const report = await migrateViewData(earlier.db);
      expect(report.moved?.from).toBe('public');
      expect(report.moved?.tables).toEqual(expect.arrayContaining(['pages', 'view_data_migrations']));
      expect(await relationsIn(earlier.db, 'public')).toEqual([]);
      expect(await relationsIn(earlier.db, VIEW_DATA_SCHEMA)).toEqual(afterMigrating(earlierTables));
      expect(await positionOf(earlier.db, 'aggregators:home-page')).toBe(300);
    } finally {
      await earlier.drop();
    }
  });

  it('leaves tables in public that are not View Data’s (e.g. the book’s own View Data) where they are', async () => {
    const earlier = await createTestDatabase({ install: false, searchPath: VIEW_DATA_SEARCH_PATH });
    try {
      await earlier.db.exec('CREATE TABLE public.pages (page_name text PRIMARY KEY, page_data jsonb)');
      await earlier.db.exec('CREATE TABLE public.knex_migrations (id serial PRIMARY KEY, name text)');
      const report = await migrateViewData(earlier.db);
      expect(report.moved).toBeNull();
      expect(await relationsIn(earlier.db, 'public')).toEqual([
        'knex_migrations',
        'knex_migrations_id_seq',
        'knex_migrations_pkey',
        'pages',
        'pages_pkey',
      ]);
      expect(await earlier.db.query(`SELECT page_data FROM pages WHERE page_name = 'home'`)).toEqual([
        { page_data: { videosWatched: 0 } },
      ]);
    } finally {
      await earlier.drop();
    }
  });
});

describe('a system started on View Data an earlier version made in the message store’s database', () => {
  it('finds its tables moved into view_data, the home page and its aggregator’s position as they were', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'vt-view-data-schema-'));
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: directory };
    const postgres = process.env.TEST_POSTGRES_URL ? await createTestDatabase({ install: false }) : null;
    if (postgres) env.MESSAGE_STORE_CONNECTION_STRING = env.DATABASE_URL = postgres.connectionString!;
    try {
      // What an earlier version left: Message DB and View Data in one database, on Message DB's search path.
      const earlier = postgres
        ? createPostgresDatabase({ connectionString: postgres.connectionString! })
        : await createPgliteDatabase({
            dataDir: path.join(directory, 'message-store'),
            loadDataDir: await testPgliteTemplate(),
          });
      await installMessageDb(earlier);
      await migrateAsEarlierVersions(earlier);
      await earlier.close();

      const system = await startSystem(
        readConfig(env),
        { web: false, workers: ['home-page-aggregator'] },
        {
          pgliteTemplate: await testPgliteTemplate(),
        },
      );
      try {
        for (const subscription of system.pieces.flatMap((piece) => piece.subscriptions))
          await subscription.waitUntilCaughtUp();
        expect(system.viewData).toBe(system.messageStoreDb);
        expect(await system.viewData.query(`SELECT page_data FROM pages WHERE page_name = 'home'`)).toEqual([
          { page_data: { videosWatched: 150 } },
        ]);
        const inMessageStore = await relationsIn(system.viewData, 'message_store');
        expect(inMessageStore).not.toContain('pages');
        expect(inMessageStore).not.toContain('view_data_migrations');
        expect(await relationsIn(system.viewData, VIEW_DATA_SCHEMA)).toContain('pages');
        expect(await viewDataPositions(system.viewData).read({ subscriberId: 'aggregators:home-page' })).toBe(300);
      } finally {
        await system.stop();
      }
    } finally {
      await postgres?.drop();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const positionOf = async (db: Queryable, subscriberId: string) =>
  Number(
    (
      await db.query<{ position: string }>('SELECT position FROM consumer_positions WHERE subscriber_id = $1', [
        subscriberId,
      ])
    )[0]?.position,
  );

describe('0012-video-lifecycle', () => {
  it('builds the videos’ tables again: their rows and their aggregators’ positions go, nothing else', async () => {
    const earlier = await createTestDatabase({ install: false, searchPath: VIEW_DATA_SEARCH_PATH });
    try {
      // View Data as the version before it left it: every migration up to 0011, in view_data.
      await earlier.db.transaction(async (tx) => {
        await tx.exec(`CREATE SCHEMA IF NOT EXISTS ${VIEW_DATA_SCHEMA}`);
        await tx.exec(`SET LOCAL search_path = ${VIEW_DATA_SCHEMA}, public`);
        await tx.exec(
          'CREATE TABLE view_data_migrations (name text PRIMARY KEY, applied_at timestamptz DEFAULT now())',
        );
        for (const migration of VIEW_DATA_MIGRATIONS.filter((each) => each.name < '0012')) {
          await tx.exec(migration.up);
          await tx.query('INSERT INTO view_data_migrations (name) VALUES ($1)', [migration.name]);
        }
        const video = randomUUID();
        await tx.query(
          `INSERT INTO creators_portal_videos (id, owner_id, status, source_uri, uploaded_at) VALUES ($1, $1, 'published', 's', now())`,
          [video],
        );
        await tx.query(`INSERT INTO video_catalogue (id, owner_id, published_at) VALUES ($1, $1, now())`, [video]);
        await tx.query(
          `INSERT INTO consumer_positions (subscriber_id, position) VALUES
             ('aggregators:catalogue', 40), ('aggregators:creators-videos', 40), ('aggregators:home-page', 40)`,
        );
      });

      const report = await migrateViewData(earlier.db);

      expect(report.applied).toEqual([
        '0012-video-lifecycle',
        '0013-catalogue-search-and-pages',
        '0014-account-page',
        '0015-creators-names',
      ]);
      expect(await earlier.db.query('SELECT id FROM creators_portal_videos')).toEqual([]);
      expect(await earlier.db.query('SELECT id FROM video_catalogue')).toEqual([]);
      expect(await earlier.db.query('SELECT subscriber_id FROM consumer_positions')).toEqual([
        { subscriber_id: 'aggregators:home-page' },
      ]);
    } finally {
      await earlier.drop();
    }
  });
});

describe('migration 0015-creators-names', () => {
  it('has the user-credentials aggregator apply the identity category again, for the names; nothing else', async () => {
    const earlier = await createTestDatabase({ install: false, searchPath: VIEW_DATA_SEARCH_PATH });
    try {
      await migrateViewData(earlier.db);
      // As the version before it left View Data: 0015 not applied yet, positions recorded.
      await earlier.db.exec(`DROP TABLE user_public_names; ALTER TABLE video_operations DROP COLUMN answer_type;
        DELETE FROM view_data_migrations WHERE name = '0015-creators-names';
        INSERT INTO consumer_positions (subscriber_id, position) VALUES ('aggregators:user-credentials', 70),
          ('aggregators:user-credentials+0of2', 70), ('aggregators:account-sessions', 70);`);
      const userId = randomUUID();
      await earlier.db.query(
        `INSERT INTO user_credentials (id, email, password_hash, identity_position) VALUES ($1, 'a@example.com', 'h', 3)`,
        [userId],
      );

      expect((await migrateViewData(earlier.db)).applied).toEqual(['0015-creators-names']);
      expect(await earlier.db.query('SELECT subscriber_id FROM consumer_positions')).toEqual([
        { subscriber_id: 'aggregators:account-sessions' },
      ]);
      expect(
        await earlier.db.query('SELECT id, identity_position::int AS identity_position FROM user_credentials'),
      ).toEqual([{ id: userId, identity_position: 3 }]);
      expect(await earlier.db.query('SELECT * FROM user_public_names')).toEqual([]);
    } finally {
      await earlier.drop();
    }
  });
});

/**
 * Every step's SQL as databases out there applied it, by SHA-256: a step once applied never changes (its name is
 * recorded in view_data_migrations), and a fresh database must end as theirs did. A new step is added here.
 */
const APPLIED_STEPS: readonly [name: string, sha256: string][] = [
  ['0001-pages', 'fc0bd8962e9d147fe645747ac92b5d9cc28ff90760cbd8225ac19635f4d8a75f'],
  ['0002-user-credentials', '903f3d3627b285125a6a77a334840c574fca47db032220a6e088a37858ffb711'],
  ['0003-registration-monitor', 'b209c0caebd07941af27f62699848bde294a59ba01f03b54de51ffe0537f1860'],
  ['0004-videos', 'a8727c8a31e0c40d09d7fd5774977ad14b49b58b5d868edc3260b77d7ed87a17'],
  ['0005-admin', 'bf2685074380586200c21d8fa8cb12e56f970af30cc4f0e7be0fc71b59ce60e2'],
  ['0006-consumer-positions', '96d3ba8bd09b7a88d65a3e8db9828d2d5a2cd3a30bdf1c051e76c2da4aaa2b63'],
  ['0007-admin-index-without-type', 'ff466f1984831b215f9615a38280e3ca7393f141a680f5380231a4154f30de2b'],
  ['0008-accounts', 'e4b99ba31d0e4366679e0256cc4f99302683184a07ce770f9379d62419b3fc46'],
  ['0009-view-counts-of-any-video-id', 'aed07369c7ba19237bb10c924150d8b2a7a8e9d61bfef9f68656314141118b20'],
  ['0010-admin-streams-from-message-db', '0fb260bc73ab22437d71424fdfe310bd1bd9f9ff898f1e3ac3e37f9c4b34f35c'],
  ['0011-caption-cues', '4d6e554d281ba3175fc25ab769175a36c5c25272f281614c34cee03b3a7f1b58'],
  ['0012-video-lifecycle', '98b691e10573834a2c1b8a11b693abf9514436792645352e7a9472de422c1b74'],
  ['0013-catalogue-search-and-pages', '60c6a418ec7e9f91069bb5e9797990b3338d735fafce0c6a9e8d91d866294dd5'],
  ['0014-account-page', 'af401b82c160e112c3f05f72910333bade34a41acd2e4d7caa02e305656e606d'],
  ['0015-creators-names', '376d22511f25554391c541f01fa4145778943508df2cf7559ae257c8c8d377e0'],
];

describe('the migration steps', () => {
  it('are, in order, byte for byte the SQL every database applied', () => {
    expect(VIEW_DATA_MIGRATIONS.map(({ name, up }) => [name, createHash('sha256').update(up).digest('hex')])).toEqual(
      APPLIED_STEPS,
    );
  });
});

describe('the owners of View Data', () => {
  it('are one for every table the migrations make: an aggregator (its schema.ts) or View Data itself', async () => {
    await migrateViewData(test.db);
    const tables = await test.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [VIEW_DATA_SCHEMA],
    );
    const ownersOf = (table: string) =>
      Object.entries(VIEW_DATA_OWNERS)
        .filter(([, schema]) => schema.tables.some((owned) => owned.name === table))
        .map(([owner]) => owner);
    expect(tables.length).toBeGreaterThan(10);
    for (const { table_name } of tables) expect(ownersOf(table_name), table_name).toHaveLength(1);
    // And none claims a table the migrations do not make.
    const owned = Object.values(VIEW_DATA_OWNERS).flatMap((schema) => schema.tables.map((table) => table.name));
    expect(owned.sort()).toEqual(tables.map((table) => table.table_name));
  });

  it('each give every part of their SQL to the steps that take it, no more and no less', () => {
    const owners = {
      pages: { tables: [], steps: { '0001': ['CREATE TABLE a ();', ' CREATE INDEX a_b ON a (b);'] } },
      positions: { tables: [], steps: { '0001': ' DELETE FROM b;' } },
    };
    expect(composeMigrations([{ name: '0001', from: ['pages', 'positions', 'pages'] }], owners)).toEqual([
      { name: '0001', up: 'CREATE TABLE a (); DELETE FROM b; CREATE INDEX a_b ON a (b);' },
    ]);
    expect(() => composeMigrations([{ name: '0001', from: ['pages', 'positions'] }], owners)).toThrow(
      'pages has SQL for migration 0001 that the migration does not take',
    );
    expect(() => composeMigrations([{ name: '0001', from: ['pages', 'positions', 'positions'] }], owners)).toThrow(
      'Migration 0001 takes more parts from positions than it has',
    );
    expect(() => composeMigrations([], owners)).toThrow('has SQL for migration 0001 that the migration does not take');
  });
});
