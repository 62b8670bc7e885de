import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  findStream,
  listStreamNamesOfCategory,
  listStreams,
  storeBrowser,
  type StreamListing,
  type StreamSummary,
} from './browse.js';
import { createTestDatabase, exampleMessage, uniqueCategory, type TestDatabase } from './controls/index.js';
import { createMessageStore, type MessageStore } from './store.js';

let test: TestDatabase & { store: MessageStore };
const category = uniqueCategory('listed');
const other = uniqueCategory('other');
const long = `${category}-long`;
const LONG_STREAM_MESSAGES = 25;

beforeAll(async () => {
  const db = await createTestDatabase();
  test = { ...db, store: createMessageStore({ db: db.db }) };
  // Short streams of two categories interleaved, some written to again later, and in the middle one
  // long stream whose messages come one after another (more of them than a small scan window).
  for (let index = 0; index < 12; index++) {
    await test.store.write(`${category}-${index}`, exampleMessage({ type: 'Started' }));
    if (index % 3 === 0) await test.store.write(`${other}-${index}`, exampleMessage({ type: 'Noted' }));
    if (index === 6)
      await test.store.writeBatch(
        long,
        Array.from({ length: LONG_STREAM_MESSAGES }, (_, at) => exampleMessage({ type: `Step${at}` })),
      );
  }
  for (const index of [2, 9, 4]) await test.store.write(`${category}-${index}`, exampleMessage({ type: 'Moved' }));
});
afterAll(() => test.drop());

/** What the streams are, straight from every message: each at its last one, most recently written first. */
async function expectedStreams(categoryName?: string) {
  const rows = await test.db.query<{ stream_name: string; position: number; global_position: number; type: string }>(
    `SELECT stream_name, position::int, global_position::int, type FROM message_store.messages ORDER BY global_position`,
  );
  const last = new Map<
    string,
    { streamName: string; messageCount: number; lastGlobalPosition: number; lastType: string }
  >();
  for (const row of rows)
    if (!categoryName || row.stream_name.split('-')[0] === categoryName)
      last.set(row.stream_name, {
        streamName: row.stream_name,
        messageCount: row.position + 1,
        lastGlobalPosition: row.global_position,
        lastType: row.type,
      });
  return [...last.values()].sort((a, b) => b.lastGlobalPosition - a.lastGlobalPosition);
}

/** Every page, following the Older link until there is none. */
async function pageThrough(options: { category?: string; limit: number; window: number }) {
  const pages: StreamListing[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await listStreams(test.db, { ...options, ...(before !== undefined ? { before } : {}) });
    pages.push(page);
    if (page.olderBefore === null) return pages;
    expect(page.olderBefore).toBeLessThan(before ?? Infinity);
    before = page.olderBefore;
    if (pages.length > 200) throw new Error('paging does not end');
  }
}

const summaryOf = ({ streamName, messageCount, lastGlobalPosition, lastType }: StreamSummary) => ({
  streamName,
  messageCount,
  lastGlobalPosition,
  lastType,
});

describe('streams read from Message DB’s own table and indexes', () => {
  it('lists a category’s streams most recently written first, with their counts and last messages', async () => {
    const listing = await listStreams(test.db, { category, limit: 50 });
    expect(listing.streams.map(summaryOf)).toEqual(await expectedStreams(category));
    expect(listing.streams.slice(0, 3).map((stream) => stream.streamName)).toEqual([
      `${category}-4`,
      `${category}-9`,
      `${category}-2`,
    ]);
    expect(listing.streams.find((stream) => stream.streamName === long)).toMatchObject({
      category,
      messageCount: LONG_STREAM_MESSAGES,
      lastPosition: LONG_STREAM_MESSAGES - 1,
      lastType: `Step${LONG_STREAM_MESSAGES - 1}`,
    });
    expect(listing.streams.every((stream) => stream.category === category)).toBe(true);
    expect(listing).toMatchObject({ olderBefore: null, scanned: null });
  });

  it('pages through every stream once, even where a long stream fills the scan window', async () => {
    for (const options of [
      { category, limit: 3, window: 5 },
      { category, limit: 4, window: 30 },
      { limit: 3, window: 7 },
      { limit: 1, window: 2 },
    ]) {
      const pages = await pageThrough(options);
      const listed = pages.flatMap((page) => page.streams.map(summaryOf));
      expect(listed, JSON.stringify(options)).toEqual(await expectedStreams(options.category));
      expect(pages.every((page) => page.streams.length <= options.limit)).toBe(true);
    }
    // Where the long stream's messages are all a window holds, the page is short and says what it scanned.
    const pages = await pageThrough({ category, limit: 3, window: 5 });
    const short = pages.filter((page) => page.scanned !== null);
    expect(short.some((page) => page.streams.length === 0)).toBe(true);
    for (const page of short) {
      expect(page.olderBefore).toBe(page.scanned!.oldest);
      expect(page.scanned!.newest).toBeGreaterThanOrEqual(page.scanned!.oldest);
    }
  });

  it('finds a stream’s summary by name, and no stream where none was written', async () => {
    const [expected] = (await expectedStreams(category)).filter((stream) => stream.streamName === `${category}-9`);
    expect(await findStream(test.db, `${category}-9`)).toMatchObject({
      ...expected,
      category,
      lastPosition: 1,
      lastType: 'Moved',
    });
    expect((await findStream(test.db, `${category}-9`))?.lastTime).toBeInstanceOf(Date);
    expect(await findStream(test.db, `${category}-none`)).toBeNull();
  });

  it('lists the names of a category’s streams, e.g. the parking lots', async () => {
    for (const subscriberId of ['components:a', 'components:b', 'components:a', 'aggregators:c'])
      await test.store.write(`parkedMessages-${subscriberId}`, exampleMessage({ type: 'MessageParked' }));
    expect(await listStreamNamesOfCategory(test.db, 'parkedMessages')).toEqual([
      'parkedMessages-aggregators:c',
      'parkedMessages-components:a',
      'parkedMessages-components:b',
    ]);
    expect(await listStreamNamesOfCategory(test.db, 'parkedMessages', 1)).toEqual(['parkedMessages-aggregators:c']);
  });
});

describe('a store’s browser', () => {
  it('reads the store’s own database, given only the store: counts, the head, a stream', async () => {
    const browse = storeBrowser(test.store);
    const [totals] = await test.db.query<{ count: number; head: number }>(
      'SELECT count(*)::int AS count, max(global_position)::int AS head FROM message_store.messages',
    );
    expect(await browse.countMessages('$all')).toBe(totals?.count);
    expect(await browse.countMessages(category)).toBe(12 + LONG_STREAM_MESSAGES + 3);
    expect(await browse.countMessages(other)).toBe(4);
    expect(await browse.headOfAll()).toBe(totals?.head);
    expect(await browse.findStream(long)).toMatchObject({ streamName: long, messageCount: LONG_STREAM_MESSAGES });
  });
});
