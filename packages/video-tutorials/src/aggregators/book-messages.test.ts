import { randomUUID } from 'node:crypto';
import type { MessageStore, ParkedMessage, Queryable, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOK_SAMPLE_VIDEO_ID,
  BOOK_TRANSCODED_URI,
  bookFailsPublishing,
  bookNamesVideo,
  bookPublishesVideo,
  bookRecordsViewing,
  bookRejectsName,
} from '../book-writes.js';
import { rebuildAggregator } from '../cli/rebuild.js';
import { findRebuildableAggregator } from '../cli/rebuildable-aggregators.js';
import { VideoPublished } from '../contracts/video-publishing.js';
import { VideoViewed } from '../contracts/viewing.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { findPublishedVideo, listPublishedVideos } from './catalogue/index.js';
import { findVideoOfOwner, listVideosOfOwner } from './creators-videos/index.js';
import { loadHomePage } from './home-page/index.js';
import { findOperation } from './video-operations/index.js';

/**
 * A message store the book's JavaScript system wrote — viewings of its sample video (id `12345`), signed in and
 * anonymous, and of a video it published with its fake transcoding, named, and refused a name for — read by this
 * system's aggregators into empty View Data: everything counts and shows, nothing is parked, and a rebuild gives
 * the same.
 */
const AGGREGATORS = ['home-page', 'video-views', 'creators-videos', 'catalogue', 'video-operations', 'admin-users'];

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

interface RunningPiece {
  start(): Promise<void>;
  stop(): Promise<void>;
  subscriptions: { waitUntilCaughtUp(): Promise<void>; parkingLot: { list(): Promise<ParkedMessage[]> } }[];
}

/** Runs each aggregator's real subscription until caught up, and returns what they parked. */
async function runAggregators(): Promise<ParkedMessage[]> {
  const parked: ParkedMessage[] = [];
  for (const name of AGGREGATORS) {
    const piece = findRebuildableAggregator(name).build({
      store: test.store,
      viewData: test.db,
    }) as unknown as RunningPiece;
    await piece.start();
    for (const subscription of piece.subscriptions) await subscription.waitUntilCaughtUp();
    await piece.stop();
    for (const subscription of piece.subscriptions) parked.push(...(await subscription.parkingLot.list()));
  }
  return parked;
}

const owner = randomUUID();
const viewer = randomUUID();
const bookVideo = randomUUID();
const failedVideo = randomUUID();
const namingTrace = randomUUID();
const rejectedTrace = randomUUID();

async function writeWhatTheBookWrote() {
  for (let n = 0; n < 3; n++) await bookRecordsViewing(test.db, BOOK_SAMPLE_VIDEO_ID, viewer);
  for (let n = 0; n < 2; n++) await bookRecordsViewing(test.db, BOOK_SAMPLE_VIDEO_ID);
  await bookPublishesVideo(test.db, { videoId: bookVideo, ownerId: owner });
  await bookNamesVideo(test.db, {
    videoId: bookVideo,
    userId: owner,
    name: 'Learning Message DB',
    traceId: namingTrace,
  });
  await bookRejectsName(test.db, { videoId: bookVideo, userId: owner, name: '', traceId: rejectedTrace });
  await bookRecordsViewing(test.db, bookVideo, viewer);
  await bookRecordsViewing(test.db, bookVideo);
  await bookFailsPublishing(test.db, { videoId: failedVideo, ownerId: owner, reason: 'No can haz fetch' });
}

/** What View Data must say of the book's messages. */
async function expectTheBooksWork(db: Queryable) {
  expect(await loadHomePage(db)).toEqual({ videosWatched: 7 });
  const counts = await db.query<{ video_id: string; view_count: string | number }>(
    'SELECT video_id, view_count FROM video_view_counts ORDER BY video_id',
  );
  expect(counts.map((row) => [row.video_id, Number(row.view_count)]).sort()).toEqual(
    [
      [BOOK_SAMPLE_VIDEO_ID, 5],
      [bookVideo, 2],
    ].sort(),
  );

  expect(await findVideoOfOwner(db, owner, bookVideo)).toMatchObject({
    status: 'published',
    name: 'Learning Message DB',
    viewCount: 2,
    posterUri: null,
  });
  expect(await findVideoOfOwner(db, owner, failedVideo)).toMatchObject({
    status: 'failed',
    failureReason: 'No can haz fetch',
  });
  expect((await listVideosOfOwner(db, owner)).map((video) => video.id).sort()).toEqual([bookVideo, failedVideo].sort());

  expect(await findPublishedVideo(db, bookVideo)).toMatchObject({
    ownerId: owner,
    name: 'Learning Message DB',
    transcodedUri: BOOK_TRANSCODED_URI,
    posterUri: null,
    viewCount: 2,
  });
  expect((await listPublishedVideos(db)).map((video) => video.id)).toEqual([bookVideo]);

  expect(await findOperation(db, namingTrace, owner)).toEqual({
    traceId: namingTrace,
    videoId: bookVideo,
    succeeded: true,
    failureReason: null,
  });
  expect(await findOperation(db, rejectedTrace, owner)).toMatchObject({ succeeded: false, videoId: bookVideo });

  const [user] = await db.query<{ view_count: string | number }>('SELECT view_count FROM admin_users WHERE id = $1', [
    viewer,
  ]);
  expect(Number(user?.view_count)).toBe(4);
}

describe('messages the book’s system wrote, read into empty View Data', () => {
  beforeAll(writeWhatTheBookWrote);

  it('are all counted and shown, and none is parked', async () => {
    expect(await runAggregators()).toEqual([]);
    await expectTheBooksWork(test.db);
  });

  it('change nothing more when applied again', async () => {
    const byCategory = async (category: string) =>
      (
        await test.db.query<{ global_position: string }>(
          'SELECT global_position FROM message_store.messages WHERE message_store.category(stream_name) = $1',
          [category],
        )
      ).length;
    expect(await byCategory('viewing')).toBe(7);
    for (const name of AGGREGATORS) {
      const aggregator = findRebuildableAggregator(name);
      const messages: StoredMessage[] = await test.store.read(aggregator.streamName, { from: 0, max: 1_000 });
      const { apply } = aggregator.build({ store: test.store, viewData: test.db });
      await test.db.transaction((tx) => apply(messages, tx));
    }
    await expectTheBooksWork(test.db);
  });

  it('are rebuilt to the same by `rebuild`', async () => {
    for (const name of AGGREGATORS)
      await expect(
        rebuildAggregator({ store: test.store, viewData: test.db, aggregator: name }),
      ).resolves.toMatchObject({
        aggregator: name,
      });
    await expectTheBooksWork(test.db);
  });
});

describe('what this system writes itself', () => {
  it('is still only the strict shape: a viewing names a UUID video and its viewer', () => {
    expect(() => VideoViewed.create({ userId: viewer, videoId: BOOK_SAMPLE_VIDEO_ID })).toThrow(/videoId/);
    expect(() => VideoViewed.create({ videoId: bookVideo } as never)).toThrow(/userId/);
    expect(() =>
      VideoPublished.create({
        ownerId: owner,
        sourceUri: 'storage:uploads/x.mp4',
        transcodedUri: '',
        videoId: bookVideo,
      }),
    ).toThrow(/transcodedUri/);
  });
});
