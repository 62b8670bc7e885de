import { randomUUID } from 'node:crypto';
import type { MessageStore, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishingStarted, VideoPublished } from '../../contracts/video-publishing.js';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import type { PageRequest } from '../../view-data/keyset-pages.js';
import { applyViewCounts } from '../video-views/index.js';
import { catalogueVideo, writeVideoEvents } from './controls.js';
import {
  applyCatalogueEvents,
  findNextVideos,
  findViewCount,
  listCataloguePage,
  searchCatalogue,
  SNIPPET_MARK_END,
  SNIPPET_MARK_START,
} from './index.js';

/**
 * The catalogue's learners' queries, on PGlite and PostgreSQL alike: full-text search (English stemming, weighted
 * name > description > transcript, hostile queries), snippets whose marks text cannot forge, keyset pages, the
 * videos up next, the live count — public videos only.
 */
let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test?.drop());

const video = (options: Parameters<typeof catalogueVideo>[2] = {}) => catalogueVideo(test.store, test.db, options);
const search = (text: string, limit = 20) => searchCatalogue(test.db, text, { offset: 0, limit });
const idsOf = (videos: { id: string }[]) => videos.map((found) => found.id);
/** A word no other test uses, so that a search finds only this test's videos. */
const unique = () =>
  `zq${randomUUID()
    .replace(/[^a-f]/g, '')
    .slice(0, 10)}`;

describe('the catalogue aggregator’s search document', () => {
  it('is made from the name, description and transcript, and is the same when the events are applied again', async () => {
    const word = unique();
    const { videoId, messages } = await writeVideoEvents(test.store, {
      name: `Transcoding ${word}`,
      description: 'Cutting videos',
      transcription: 'we talk about codecs',
    });
    const documentOf = async () =>
      (
        await test.db.query<{ document: string }>(
          `SELECT search_document::text AS document FROM video_catalogue WHERE id = $1`,
          [videoId],
        )
      )[0]?.document;
    await test.db.transaction((tx) => applyCatalogueEvents(messages, tx));
    const once = await documentOf();
    await test.db.transaction((tx) => applyCatalogueEvents(messages, tx));
    expect(await documentOf()).toBe(once);
    // Stemmed and weighted: the name's words A, the description's B, the transcript's C.
    expect(once).toContain("'transcod':1A");
    expect(once).toContain("'cut':3B");
    expect(once).toContain("'codec':8C");
    expect(idsOf(await search(word))).toEqual([videoId]);
  });

  it('holds a transcription of any length: the aggregator never fails on one (a tsvector holds 1 MB)', async () => {
    const word = unique();
    const { videoId } = await video({ name: word, transcription: `${'lorem ipsum dolor '.repeat(80_000)} end` });
    expect(idsOf(await search(word))).toEqual([videoId]);
  });
});

describe('search', () => {
  it('finds words by their stem, in names, descriptions and transcripts', async () => {
    const word = unique();
    const named = await video({ name: `Transcoding videos ${word}` });
    const described = await video({ name: word, description: 'How the transcoder works' });
    const said = await video({ name: word, transcription: 'then it transcodes everything' });
    const other = await video({ name: word, description: 'Nothing of the kind' });
    const found = idsOf(await search(`${word} transcode`));
    expect(found.sort()).toEqual([named.videoId, described.videoId, said.videoId].sort());
    expect(found).not.toContain(other.videoId);
    expect(idsOf(await search(`${word} TRANSCODED`)).sort()).toEqual(found.sort());
  });

  it('ranks a match in the name above one in the description, above one in the transcript', async () => {
    const word = unique();
    const said = await video({ name: 'Said', transcription: `we say ${word} here` });
    const described = await video({ name: 'Described', description: `about ${word}` });
    const named = await video({ name: `All about ${word}` });
    expect(idsOf(await search(word))).toEqual([named.videoId, described.videoId, said.videoId]);
  });

  it('takes search-engine syntax: "phrases", or, -word', async () => {
    const word = unique();
    const [first, second] = [unique(), unique()];
    const both = await video({ name: `${word} ${first} ${second}` });
    const reversed = await video({ name: `${word} ${second} ${first}` });
    const onlyFirst = await video({ name: `${word} ${first}` });
    expect(idsOf(await search(`${word} "${first} ${second}"`))).toEqual([both.videoId]);
    expect(idsOf(await search(`${word} ${first} -${second}`))).toEqual([onlyFirst.videoId]);
    expect(idsOf(await search(`${first} or ${second}`)).sort()).toEqual(
      [both.videoId, reversed.videoId, onlyFirst.videoId].sort(),
    );
  });

  it('finds public videos only', async () => {
    const word = unique();
    const unpublished = await video({ name: word, published: false });
    const published = await video({ name: word });
    expect(idsOf(await search(word))).toEqual([published.videoId]);
    expect(idsOf(await search(word))).not.toContain(unpublished.videoId);
  });

  it('answers hostile queries with results or none, never an error', async () => {
    const word = unique();
    const { videoId } = await video({ name: `${word} quoted's name` });
    for (const query of [
      "'",
      "''",
      '&|!',
      '&',
      '!',
      '|',
      '(',
      ')',
      '<->',
      ':*',
      '"',
      '""',
      '-',
      'or',
      '\\',
      '%',
      '_',
      "'; DROP TABLE video_catalogue; --",
      '\u0001\u0002',
      '\u007f',
      '\ufffd',
      '🎬',
      'x'.repeat(10_000),
      `${word} `.repeat(2_000),
    ])
      expect(Array.isArray(await search(query)), JSON.stringify(query.slice(0, 20))).toBe(true);
    expect(idsOf(await search(`${word}'s`))).toEqual([videoId]);
    expect(idsOf(await search(`!${word} & ${word}`))).toEqual([videoId]);
    // The table is still there, and so is every video.
    expect(idsOf(await search(word))).toEqual([videoId]);
  });

  it('pages ranked results by offset', async () => {
    const word = unique();
    for (let n = 0; n < 5; n++) await video({ name: `${word} ${n}` });
    const all = idsOf(await search(word));
    expect(all).toHaveLength(5);
    const pages = [0, 2, 4].map((offset) => searchCatalogue(test.db, word, { offset, limit: 2 }));
    expect((await Promise.all(pages)).flatMap(idsOf)).toEqual(all);
  });
});

describe('snippets', () => {
  it('mark the words found, in the description or the transcript', async () => {
    const word = unique();
    await video({ name: 'Snippets', description: `A talk about ${word} and more`, transcription: 'it goes on' });
    const [hit] = await search(word);
    expect(hit!.snippet).toContain(`${SNIPPET_MARK_START}${word}${SNIPPET_MARK_END}`);
    expect(hit!.snippet).toContain('talk about');
  });

  it('cannot be given marks of its own by the text: the mark characters are taken out first', async () => {
    const word = unique();
    await video({
      name: 'Forged',
      description: `${SNIPPET_MARK_START}<script>alert(1)</script>${SNIPPET_MARK_END} ${word}`,
    });
    const [hit] = await search(word);
    expect([...hit!.snippet.matchAll(new RegExp(SNIPPET_MARK_START, 'g'))]).toHaveLength(1);
    expect(hit!.snippet).toContain(`${SNIPPET_MARK_START}${word}${SNIPPET_MARK_END}`);
  });
});

const FIRST: PageRequest = { cursor: null, direction: 'after', size: 3 };

/** Every public video in catalogue order, as the database orders them. */
const catalogueOrder = async () =>
  (
    await test.db.query<{ id: string }>(
      `SELECT id FROM video_catalogue WHERE published_at IS NOT NULL ORDER BY published_at DESC, id DESC`,
    )
  ).map((row) => row.id);

describe('catalogue pages', () => {
  it('walk the whole catalogue with Next, and back with Previous, whatever ties there are in time', async () => {
    // Five of its own, so the walk crosses pages whatever the other cases wrote…
    for (let n = 0; n < 5; n++) await video({ name: `Walked ${n}` });
    // …and three videos published at the very same instant: ordered by id, never skipped nor shown twice.
    const at = new Date();
    for (let n = 0; n < 3; n++) {
      const { messages } = await writeVideoEvents(test.store, { name: `Tie ${n}`, published: false });
      const videoId = messages[0]!.streamName.slice('videoPublishing-'.length);
      const published: StoredMessage = {
        ...messages[0]!,
        id: randomUUID(),
        type: VideoPublished.type,
        position: 10,
        time: at,
        data: { ...(messages[0]!.data as PublishingStarted['data']), transcodedUri: `storage:transcoded/${videoId}` },
      };
      await test.db.transaction((tx) => applyCatalogueEvents([published], tx));
    }
    const expected = await catalogueOrder();
    expect(expected.length).toBeGreaterThan(7);

    const forward: string[] = [];
    const pages = [];
    let page = await listCataloguePage(test.db, FIRST);
    expect(page.previous).toBeNull();
    for (;;) {
      pages.push(page);
      forward.push(...idsOf(page.rows));
      if (!page.next) break;
      page = await listCataloguePage(test.db, { cursor: page.next, direction: 'after', size: 3 });
      expect(page.previous).not.toBeNull();
    }
    expect(forward).toEqual(expected);

    const backward: string[][] = [];
    let back = pages.at(-1)!;
    while (back.previous) {
      back = await listCataloguePage(test.db, { cursor: back.previous, direction: 'before', size: 3 });
      backward.unshift(idsOf(back.rows));
    }
    expect(backward.flat()).toEqual(expected.slice(0, expected.length - pages.at(-1)!.rows.length));
    expect(backward[0]).toEqual(expected.slice(0, 3));
    expect(back.previous).toBeNull();
    expect(back.next).not.toBeNull();
  });

  it('past the end: an empty page that leads back', async () => {
    await video({ name: 'The last one' }); // there is a catalogue to lead back to
    const expected = await catalogueOrder();
    const last = await listCataloguePage(test.db, { cursor: null, direction: 'after', size: expected.length });
    expect(last.next).toBeNull();
    const beyond = await listCataloguePage(test.db, {
      cursor: { at: '1970-01-01T00:00:00.000000Z', id: randomUUID() },
      direction: 'after',
      size: 3,
    });
    expect(beyond.rows).toEqual([]);
    expect(beyond.next).toBeNull();
    expect(beyond.previous).not.toBeNull();
  });
});

describe('the videos up next', () => {
  it('follow the video in the catalogue, then start again from the newest, never the video itself', async () => {
    await video({ name: 'Up next 1' });
    await video({ name: 'Up next 2' });
    const order = await catalogueOrder();
    for (const index of [0, 1, order.length - 2, order.length - 1]) {
      const after = [...order.slice(index + 1), ...order.slice(0, index)].slice(0, 4);
      expect(idsOf(await findNextVideos(test.db, order[index]!)), `video ${index}`).toEqual(after);
    }
    expect(idsOf(await findNextVideos(test.db, order[0]!, 2))).toEqual(order.slice(1, 3));
  });

  it('of a video that is not public: none', async () => {
    const { videoId } = await video({ published: false });
    expect(await findNextVideos(test.db, videoId)).toEqual([]);
    expect(await findNextVideos(test.db, randomUUID())).toEqual([]);
  });
});

describe('the live count', () => {
  it('is the views of a public video, and nothing for one that is not', async () => {
    const { videoId } = await video({ name: 'Counted' });
    const unpublished = await video({ published: false });
    expect(await findViewCount(test.db, videoId)).toBe(0);
    const stream = viewingStreamName(videoId);
    const views: StoredMessage[] = [];
    for (let n = 0; n < 3; n++) {
      const { position } = await test.store.write(stream, VideoViewed.create({ userId: 'anonymous', videoId }));
      views.push((await test.store.read(stream, { from: position, max: 1 }))[0]!);
    }
    await test.db.transaction((tx) => applyViewCounts(views, tx));
    await test.db.transaction((tx) => applyViewCounts(views, tx));
    expect(await findViewCount(test.db, videoId)).toBe(3);
    expect(await findViewCount(test.db, unpublished.videoId)).toBeNull();
    expect(await findViewCount(test.db, randomUUID())).toBeNull();
  });
});
