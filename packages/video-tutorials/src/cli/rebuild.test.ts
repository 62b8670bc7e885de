import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Message, type MessageStore, type Row } from 'message-db-toolkit';
import { eventually, testDatabaseKind, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityStreamName, Registered } from '../contracts/identity.js';
import {
  PublishingStarted,
  VideoNamed,
  VideoPublished,
  videoPublishingStreamName,
} from '../contracts/video-publishing.js';
import { VideoViewed, viewingCategory, viewingStreamName } from '../contracts/viewing.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { parseCommandLine, UsageError } from './commands.js';
import { rebuildAggregator, type RebuildProgress } from './rebuild.js';
import {
  findRebuildableAggregator,
  REBUILDABLE_AGGREGATORS,
  UnknownAggregatorError,
  type RebuildableAggregator,
} from './rebuildable-aggregators.js';
import { VIEW_DATA_SEARCH_PATH } from '../view-data/migrations.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

const videoIds = [randomUUID(), randomUUID(), randomUUID()];

/** `count` viewings spread over `videoIds`, written per video in batches. */
async function writeViewings(count: number) {
  const byVideo = new Map<string, Message[]>();
  for (let n = 0; n < count; n++) {
    const videoId = videoIds[n % videoIds.length]!;
    const viewing = VideoViewed.create({ userId: 'anonymous', videoId }, { metadata: { traceId: randomUUID() } });
    byVideo.set(videoId, [...(byVideo.get(videoId) ?? []), viewing]);
  }
  for (const [videoId, viewings] of byVideo)
    for (let start = 0; start < viewings.length; start += 500)
      await test.store.writeBatch(viewingStreamName(videoId), viewings.slice(start, start + 500));
}

/** Runs the aggregator's real subscription until it has caught up, as a running system would have. */
async function catchUp(aggregator: RebuildableAggregator) {
  const piece = aggregator.build({ store: test.store, viewData: test.db }) as unknown as {
    start(): Promise<void>;
    stop(): Promise<void>;
    subscriptions: { waitUntilCaughtUp(): Promise<void> }[];
  };
  await piece.start();
  for (const subscription of piece.subscriptions) await subscription.waitUntilCaughtUp();
  await piece.stop();
}

const rows = (sql: string) => test.db.query(sql);
const schemasLeft = async () =>
  (
    await test.db.query<{ name: string }>(
      `SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%' OR nspname LIKE 'replaced\\_%'`,
    )
  ).map((row) => row.name);
const indexNames = async (table: string) =>
  (
    await test.db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = to_regclass($1) ORDER BY c.relname`,
      [table],
    )
  ).map((row) => row.name);

/** The aggregator's position as View Data records it. */
const recordedPosition = async (subscriberId: string) => {
  const [row] = await test.db.query<{ position: string | number }>(
    'SELECT position FROM consumer_positions WHERE subscriber_id = $1',
    [subscriberId],
  );
  return row ? Number(row.position) : null;
};

const lastGlobalPosition = async (category: string) => {
  if (category === '$all') {
    const [row] = await test.db.query<{ last: string | number }>(
      'SELECT max(global_position) AS last FROM message_store.messages',
    );
    return Number(row?.last);
  }
  const [row] = await test.db.query<{ last: string | number }>(
    `SELECT max(global_position) AS last FROM message_store.messages WHERE message_store.category(stream_name) = $1`,
    [category],
  );
  return Number(row?.last);
};

const videoViews = findRebuildableAggregator('video-views');
const homePage = findRebuildableAggregator('home-page');
const VIEW_COUNTS = 'SELECT video_id, view_count::int AS view_count FROM video_view_counts ORDER BY video_id';

describe('the registry of rebuildable aggregators', () => {
  it('lists every aggregator in src/aggregators/', async () => {
    const aggregatorsDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../aggregators');
    const folders = (await readdir(aggregatorsDirectory, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    const aggregators: string[] = [];
    for (const folder of folders) {
      // Helpers shared by aggregators (admin-common) build nothing.
      const module = (await import(path.join(aggregatorsDirectory, folder, 'index.js'))) as { build?: unknown };
      if (typeof module.build === 'function') aggregators.push(folder);
    }
    expect(aggregators).toContain('home-page');
    const missing = aggregators.filter((folder) => !REBUILDABLE_AGGREGATORS.some((known) => known.name === folder));
    expect(missing, 'list these in src/pieces.ts, each with its descriptor: tables, stream, subscriber id').toEqual([]);
  });

  it("names each aggregator's real subscriber id, and tables that exist", async () => {
    for (const aggregator of REBUILDABLE_AGGREGATORS) {
      // A message of no interest to it still moves its position on.
      if (aggregator.streamName !== '$all')
        await test.store.write(`${aggregator.streamName}-${randomUUID()}`, {
          id: randomUUID(),
          type: 'NothingToSeeHere',
          data: {},
        });
      await catchUp(aggregator);
      expect(await recordedPosition(aggregator.subscriberId), `${aggregator.name}: ${aggregator.subscriberId}`).toBe(
        await lastGlobalPosition(aggregator.streamName),
      );
      for (const table of aggregator.tables)
        expect(await rows(`SELECT to_regclass('${table.name}') IS NOT NULL AS exists`)).toEqual([{ exists: true }]);
    }
  });
});

describe('rebuild', () => {
  it('restores a corrupted table to exactly what replaying gives; the live table serves until the swap', async () => {
    await writeViewings(2_500);
    await catchUp(videoViews);
    const expected = await rows(VIEW_COUNTS);
    expect(expected).toHaveLength(3);
    const indexesBefore = await indexNames('video_view_counts');

    // Corrupted by hand: one row gone, one changed.
    await test.db.query('DELETE FROM video_view_counts WHERE video_id = $1', [videoIds[0]]);
    await test.db.query('UPDATE video_view_counts SET view_count = 1 WHERE video_id = $1', [videoIds[1]]);
    const corrupted = await rows(VIEW_COUNTS);

    const [{ count: inCategory } = { count: 0 }] = await test.db.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM message_store.messages WHERE message_store.category(stream_name) = 'viewing'`,
    );
    expect(inCategory).toBeGreaterThanOrEqual(2_500);
    const seenMidway: Row[][] = [];
    const progress: RebuildProgress[] = [];
    const result = await rebuildAggregator({
      store: test.store,
      viewData: test.db,
      aggregator: 'video-views',
      batchSize: 500,
      onProgress: async (report) => {
        progress.push(report);
        if (report.phase === 'replaying' && report.messages > 0) seenMidway.push(await rows(VIEW_COUNTS));
      },
    });

    expect(await rows(VIEW_COUNTS)).toEqual(expected);
    // While replaying, readers saw the live (corrupted) table, unchanged.
    expect(seenMidway.length).toBeGreaterThanOrEqual(4);
    for (const seen of seenMidway) expect(seen).toEqual(corrupted);
    expect(progress.at(-1)).toMatchObject({ phase: 'swapping', messages: inCategory, total: inCategory });

    const last = await lastGlobalPosition(viewingCategory);
    expect(result).toMatchObject({ aggregator: 'video-views', messages: inCategory, position: last, keptIn: null });
    // The position is recorded in View Data, with the swapped tables; the message store gets no Read.
    expect(await recordedPosition('aggregators:video-views')).toBe(last);
    expect(result.positionRecordedIn).toBe('consumer_positions/aggregators:video-views');
    expect(await test.store.readLastMessage('subscriberPosition-aggregators:video-views')).toBeNull();

    expect(await indexNames('video_view_counts')).toEqual(indexesBefore);
    expect(await schemasLeft()).toEqual([]);
    // Swapped into View Data's own schema, where the live table was.
    expect(
      await test.db.query(
        `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relname = 'video_view_counts' AND c.relkind = 'r'`,
      ),
    ).toEqual([{ schema: 'view_data' }]);
  });

  it('re-seeds what a migration seeded (the home page) and keeps the index names later migrations use', async () => {
    await catchUp(homePage);
    const expected = await rows('SELECT * FROM pages');
    expect(expected).toEqual([expect.objectContaining({ page_name: 'home', page_data: { videosWatched: 2_500 } })]);
    await test.db.query(`UPDATE pages SET page_data = '{"videosWatched": 7}'`);
    await rebuildAggregator({ store: test.store, viewData: test.db, aggregator: 'home-page-aggregator' });
    expect(await rows('SELECT * FROM pages')).toEqual(expected);

    const userIds = [randomUUID(), randomUUID()];
    for (const userId of userIds)
      await test.store.write(
        identityStreamName(userId),
        Registered.create({ userId, email: `${userId}@example.com`, passwordHash: 'hash' }),
      );
    const userCredentials = findRebuildableAggregator('user-credentials');
    await catchUp(userCredentials);
    const credentials = await rows('SELECT * FROM user_credentials ORDER BY id');
    await test.db.query('DELETE FROM user_credentials WHERE id = $1', [userIds[0]]);
    await rebuildAggregator({ store: test.store, viewData: test.db, aggregator: userCredentials });
    expect(await rows('SELECT * FROM user_credentials ORDER BY id')).toEqual(credentials);
    // LIKE … INCLUDING ALL names indexes afresh; the rebuild gives them back their names.
    expect(await indexNames('user_credentials')).toEqual(['user_credentials_email', 'user_credentials_pkey']);
    // The unique index works in the new table.
    await expect(
      test.db.query(`INSERT INTO user_credentials (id, email, password_hash) VALUES ($1, $2, 'x')`, [
        randomUUID(),
        `${userIds[1]!.toUpperCase()}@EXAMPLE.COM`,
      ]),
    ).rejects.toThrow(/duplicate key|unique/i);
  });

  it('keeps the replaced tables with keepOld', async () => {
    const videoId = randomUUID();
    const ownerId = randomUUID();
    const stream = videoPublishingStreamName(videoId);
    await test.store.write(stream, PublishingStarted.create({ ownerId, sourceUri: 'storage:uploads/a.mp4', videoId }));
    await test.store.write(stream, VideoNamed.create({ name: 'A name' }));
    await test.store.write(
      stream,
      VideoPublished.create({ ownerId, sourceUri: 'storage:uploads/a.mp4', transcodedUri: 'storage:t/a.mp4', videoId }),
    );
    const catalogue = findRebuildableAggregator('catalogue');
    await catchUp(catalogue);
    const expected = await rows('SELECT * FROM video_catalogue');
    await test.db.query(`UPDATE video_catalogue SET name = 'vandalized'`);

    const result = await rebuildAggregator({
      store: test.store,
      viewData: test.db,
      aggregator: catalogue,
      keepOld: true,
    });

    expect(await rows('SELECT * FROM video_catalogue')).toEqual(expected);
    expect(result.keptIn).toMatch(/^replaced_catalogue_\d{17}$/);
    expect(await rows(`SELECT name FROM ${result.keptIn}.video_catalogue`)).toEqual([{ name: 'vandalized' }]);
    await test.db.exec(`DROP SCHEMA ${result.keptIn} CASCADE`);
  });

  it('rebuilds an aggregator of $all (admin-streams), reading in commit order', async () => {
    const adminStreams = findRebuildableAggregator('admin-streams');
    await catchUp(adminStreams);
    // Position messages keep coming (every consumer's, the rebuild's own): compare the rest.
    const CATEGORIES = `SELECT * FROM admin_categories WHERE category <> 'subscriberPosition' ORDER BY category, type`;
    const expected = await rows(CATEGORIES);
    expect(expected.length).toBeGreaterThan(3);
    await test.db.query(`DELETE FROM admin_categories WHERE category = 'viewing'`);
    await test.db.query('UPDATE admin_categories SET message_count = 1');

    const result = await rebuildAggregator({ store: test.store, viewData: test.db, aggregator: adminStreams });

    expect(await rows(CATEGORIES)).toEqual(expected);
    const [{ last } = { last: 0 }] = await test.db.query<{ last: number }>(
      `SELECT max(global_position)::int AS last FROM message_store.messages WHERE global_position < $1`,
      [result.position + 1],
    );
    expect(result.position).toBe(last);
    expect(await indexNames('admin_categories')).toEqual(['admin_categories_pkey']);
  });

  it('lets a running aggregator carry on into the new tables, and readers read throughout', async () => {
    const piece = videoViews.build({ store: test.store, viewData: test.db }) as unknown as {
      start(): Promise<void>;
      stop(): Promise<void>;
      subscriptions: { waitUntilCaughtUp(): Promise<void> }[];
    };
    await piece.start();
    let reading = true;
    let reads = 0;
    const readErrors: unknown[] = [];
    const reader = (async () => {
      while (reading) {
        await test.db.query('SELECT sum(view_count) FROM video_view_counts').then(
          () => reads++,
          (error: unknown) => readErrors.push(error),
        );
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    try {
      await test.db.query('UPDATE video_view_counts SET view_count = 0');
      let more = 3;
      await rebuildAggregator({
        store: test.store,
        viewData: test.db,
        aggregator: videoViews,
        batchSize: 400,
        // Viewings keep arriving while it replays.
        onProgress: () => (more-- > 0 ? writeViewings(30) : undefined),
      });
      await writeViewings(30);
      await piece.subscriptions[0]!.waitUntilCaughtUp();
    } finally {
      await piece.stop();
      reading = false;
      await reader;
    }
    const truth = await rows(
      `SELECT substring(stream_name from 9)::uuid AS video_id, count(*)::int AS view_count
         FROM message_store.messages WHERE message_store.category(stream_name) = 'viewing' AND type = 'VideoViewed'
        GROUP BY stream_name ORDER BY 1`,
    );
    expect(await rows(VIEW_COUNTS)).toEqual(truth);
    expect(readErrors).toEqual([]);
    expect(reads).toBeGreaterThan(0);
  });

  it.runIf(testDatabaseKind === 'postgres')(
    'makes a reader that arrives during the swap wait for it and then read the new table',
    async () => {
      const sessionsWaitingForALock = (count: number) =>
        eventually(async () => {
          const [row] = await test.db.query<{ waiting: number }>(
            `SELECT count(*)::int AS waiting FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'`,
          );
          return row!.waiting >= count;
        });
      const expected = await rows(VIEW_COUNTS);
      await test.db.query('UPDATE video_view_counts SET view_count = 0');
      const holder = test.connectAgain();
      const reader = test.connectAgain();
      // A long reader holds the live table, so the swap's lock waits for it…
      let endHolding = () => {};
      const holding = holder.transaction(async (tx) => {
        await tx.query('SELECT count(*) FROM video_view_counts');
        await new Promise<void>((resolve) => (endHolding = resolve));
      });
      let queued: Promise<Row[]> | undefined;
      const rebuilt = rebuildAggregator({
        store: test.store,
        viewData: test.db,
        aggregator: videoViews,
        onProgress: ({ phase }) => {
          if (phase !== 'swapping' || queued) return;
          void (async () => {
            await sessionsWaitingForALock(1); // the swap's
            // …and a reader arriving now queues behind the swap's lock.
            queued = reader.query(VIEW_COUNTS);
            await sessionsWaitingForALock(2); // and the reader's
          })().finally(() => endHolding());
        },
      });
      await rebuilt;
      await holding;
      expect(queued).toBeDefined();
      expect(await queued).toEqual(expected);
    },
  );

  it.runIf(testDatabaseKind === 'postgres')(
    'works with View Data in another database (DATABASE_URL): the position is written with the swap',
    async () => {
      const viewData = test.connectAgain({ searchPath: VIEW_DATA_SEARCH_PATH }); // the path of a View Data database of its own
      const expected = await rows(VIEW_COUNTS);
      await viewData.query('DELETE FROM video_view_counts');
      const result = await rebuildAggregator({
        store: test.store,
        viewData,
        aggregator: 'video-views',
        batchSize: 700,
      });
      expect(await rows(VIEW_COUNTS)).toEqual(expected);
      expect(await recordedPosition('aggregators:video-views')).toBe(result.position);
      expect(result.position).toBe(await lastGlobalPosition(viewingCategory));
    },
  );

  it('swaps nothing when a migration changed the live table meanwhile, and leaves the position as it was', async () => {
    const before = await rows(VIEW_COUNTS);
    const positionBefore = await recordedPosition('aggregators:video-views');
    await test.db.query(`UPDATE consumer_positions SET position = 1 WHERE subscriber_id = 'aggregators:video-views'`);
    await expect(
      rebuildAggregator({
        store: test.store,
        viewData: test.db,
        aggregator: videoViews,
        batchSize: 1000,
        onProgress: async ({ phase }) => {
          if (phase === 'swapping')
            await test.db.exec('ALTER TABLE video_view_counts ADD COLUMN IF NOT EXISTS note text');
        },
      }),
    ).rejects.toThrow(/changed shape during the rebuild/);
    expect(
      await rows('SELECT video_id, view_count::int AS view_count FROM video_view_counts ORDER BY video_id'),
    ).toEqual(before);
    expect(await recordedPosition('aggregators:video-views')).toBe(1);
    await test.db.query(`UPDATE consumer_positions SET position = $1 WHERE subscriber_id = 'aggregators:video-views'`, [
      positionBefore,
    ]);
    await test.db.exec('ALTER TABLE video_view_counts DROP COLUMN note');
    expect(await schemasLeft()).toEqual([]);
  });

  it('leaves the live tables and no trace when it fails or is stopped midway', async () => {
    const before = await rows(VIEW_COUNTS);
    let batches = 0;
    const failing: RebuildableAggregator = {
      ...videoViews,
      build: (deps) => {
        const { apply } = videoViews.build(deps);
        return {
          apply: async (messages, tx) => {
            if (++batches === 2) throw new Error('boom');
            await apply(messages, tx);
          },
        };
      },
    };
    await expect(
      rebuildAggregator({ store: test.store, viewData: test.db, aggregator: failing, batchSize: 300 }),
    ).rejects.toThrow('boom');
    const stop = new AbortController();
    await expect(
      rebuildAggregator({
        store: test.store,
        viewData: test.db,
        aggregator: videoViews,
        batchSize: 300,
        signal: stop.signal,
        onProgress: ({ messages }) => {
          if (messages > 0) stop.abort();
        },
      }),
    ).rejects.toThrow(/abort/i);
    expect(await rows(VIEW_COUNTS)).toEqual(before);
    expect(await schemasLeft()).toEqual([]);
  });

  it('refuses an unknown aggregator, naming the valid ones', async () => {
    const names = REBUILDABLE_AGGREGATORS.map((aggregator) => aggregator.name).join(', ');
    await expect(rebuildAggregator({ store: test.store, viewData: test.db, aggregator: 'home-pages' })).rejects.toThrow(
      new UnknownAggregatorError('home-pages', names.split(', ')),
    );
    expect(() => parseCommandLine(['rebuild', 'home-pages'])).toThrow(UsageError);
    expect(() => parseCommandLine(['rebuild', 'home-pages'])).toThrow(
      `Unknown aggregator "home-pages": choose one of ${names}`,
    );
    expect(names).toContain('video-views');
  });
});
