import { randomUUID } from 'node:crypto';
import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueVideo } from '../../aggregators/catalogue/controls.js';
import { HOSTILE_DISPLAY_NAME, registeredCreator } from '../../aggregators/user-credentials/controls.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { pageLinks, videoCards } from '../../test-support/page-checks.js';
import { buildWebServer } from '../../web/server.js';
import { creatorName } from '../../web/video-card.js';
import { createCatalogueApp, normalizeSearch } from './index.js';
import { highlightedSnippet } from './views.js';

/**
 * The learners' catalogue (`/videos`, keyset pages) and search (`/search?q=`): cards with creator, date and
 * duration; Previous/Next links; hostile page addresses and searches answered 400 with a sentence, never 500;
 * snippets escaped, only our marks made `<mark>`.
 */
const SECRET = 'a-test-cookie-secret-of-at-least-32-chars';
const HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>';

let test: TestDatabase & { store: MessageStore };
let app: FastifyInstance;
beforeAll(async () => {
  test = await createSystemTestDatabase();
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: SECRET,
    secureCookies: false,
    applications: [createCatalogueApp({ viewData: test.db })],
  });
});
afterAll(async () => {
  await app?.close();
  await test?.drop();
});

const video = (options: Parameters<typeof catalogueVideo>[2] = {}) => catalogueVideo(test.store, test.db, options);
const get = (url: string) => app.inject({ url });
const hasMarkCharacters = (text: string) => text.includes('\u0001') || text.includes('\u0002');
const unique = () =>
  `zq${randomUUID()
    .replace(/[^a-f]/g, '')
    .slice(0, 10)}`;
/** The hrefs of the page's Previous and Next links, unescaped. */
const cardIds = (body: string) =>
  videoCards(body).map(({ links }) => /\/videos\/([0-9a-f-]{36})$/.exec(links[0]!.href)?.[1]);

describe('the catalogue', () => {
  it('shows every public video on cards: one link named by the title, then creator, date and duration', async () => {
    const { videoId, ownerId } = await video({ name: 'Cards & more', durationSeconds: 3725 });
    const unpublished = await video({ name: 'Not yet', published: false });
    const page = await get('/videos');
    expect(page.statusCode).toBe(200);
    expect(videoCards(page.body)).toContainEqual({
      links: [{ href: `/videos/${videoId}`, name: 'Cards & more', attributes: 'class="video-card-link"' }],
    });
    expect(page.body).not.toContain(unpublished.videoId);
    const card = new RegExp(`<li class="card video-card" data-video-id="${videoId}">([\\s\\S]*?)</li>`).exec(
      page.body,
    )![1]!;
    expect(card).toContain(`<span class="creator">${creatorName(ownerId)}</span>`);
    expect(card).toMatch(/<time datetime="\d{4}-\d{2}-\d{2}T[\d:.]+Z">\d{1,2} [A-Z][a-z]{2} \d{4}<\/time>/);
    expect(card).toContain('<time datetime="PT1H2M5S">1:02:05</time>');
    expect(card).toContain('0 views');
    // A creator by a neutral handle: stable, telling creators apart, never their id.
    expect(creatorName(ownerId)).toMatch(/^Creator [0-9A-HJKMNP-TV-Z]{6}$/);
    expect(creatorName(ownerId)).toBe(creatorName(ownerId));
    expect(creatorName(randomUUID())).not.toBe(creatorName(ownerId));
    expect(card).not.toContain(ownerId);
  });

  it('without a duration (not transcoded, the book’s videos): creator and date only', async () => {
    const { videoId } = await video({ name: 'No duration', transcoded: false });
    const body = (await get('/videos')).body;
    const card = new RegExp(`data-video-id="${videoId}">([\\s\\S]*?)</li>`).exec(body)![1]!;
    expect(card).toMatch(
      /<span class="creator">Creator \w{6}<\/span> ·\s*<time datetime="[^"]+">[^<]+<\/time>\s*<\/p>/,
    );
  });

  it('goes page by page with Next and back with Previous, every video once', async () => {
    for (let n = 0; n < 5; n++) await video({ name: `Paged ${n}` });
    const everything = cardIds((await get('/videos?size=48')).body);
    expect(everything.length).toBeGreaterThanOrEqual(5);
    const seen: (string | undefined)[] = [];
    const addresses: string[] = [];
    let url: string | null = '/videos?size=2';
    let first = true;
    while (url) {
      addresses.push(url);
      const page = await get(url);
      expect(page.statusCode).toBe(200);
      const links = pageLinks(page.body);
      expect(links.previous === null, url).toBe(first);
      seen.push(...cardIds(page.body));
      url = links.next;
      first = false;
    }
    expect(seen).toEqual(everything);
    expect(
      addresses.slice(1).every((address) => /^\/videos\?size=2&after=[\dT:.Z-]+~[0-9a-f-]{36}$/.test(address)),
    ).toBe(true);
    // Previous from the last page leads back to where the one before started.
    const last = await get(addresses.at(-1)!);
    const previous = await get(pageLinks(last.body).previous!);
    expect(cardIds(previous.body)).toEqual(cardIds((await get(addresses.at(-2)!)).body));
  });

  it('answers a page address it did not make with 400 and a sentence, never a server error', async () => {
    const cursor = `2026-12-02T18:04:05.123456Z~${randomUUID()}`;
    for (const query of [
      'after=',
      'after=garbage',
      'before=%00',
      'after=%01',
      `after=${cursor}&before=${cursor}`,
      `after=${cursor}&after=${cursor}`,
      `after=${cursor.toUpperCase()}`,
      `after=2026-13-02T18:04:05.123456Z~${randomUUID()}`,
      `after=2026-02-31T18:04:05.123456Z~${randomUUID()}`,
      `after=2026-12-02T25:04:05.123456Z~${randomUUID()}`,
      `after=2026-12-02T18:04:05Z~${randomUUID()}`,
      `after=2026-12-02T18:04:05.123456Z~not-a-uuid`,
      `after=${encodeURIComponent(`2026-12-02T18:04:05.123456Z~${randomUUID()}' OR '1'='1`)}`,
      `after=${encodeURIComponent(`2026-12-02T18:04:05.123456Z~${randomUUID()}\n`)}`,
      `after=${'9'.repeat(10_000)}`,
      'size=0',
      'size=49',
      'size=-1',
      'size=2.5',
      'size=abc',
      'size=1&size=2',
      `size=${'9'.repeat(400)}`,
    ]) {
      const response = await get(`/videos?${query}`);
      expect(response.statusCode, query.slice(0, 60)).toBe(400);
      expect(response.body, query.slice(0, 60)).toMatch(/role="alert">[A-Z][^<]+\.<\/div>/);
    }
    const refused = await get('/videos?after=garbage');
    expect(refused.body).toContain('This page address is not one we made. Start again from the first page.');
    expect(refused.body).toContain('href="/videos"');
    expect((await get('/videos?size=49')).body).toContain('A page shows between 1 and 48 videos.');
    // A well-formed cursor of a row that is not there is a page like any other.
    expect((await get(`/videos?after=${cursor}`)).statusCode).toBe(200);
    expect((await get(`/videos?before=${cursor}`)).statusCode).toBe(200);
  });
});

describe('search', () => {
  it('finds by name, description and transcript, and shows snippets with the words found marked', async () => {
    const word = unique();
    const { videoId } = await video({
      name: 'Event sourcing',
      description: `Where ${word} meets the message store`,
      transcription: 'and then we replay everything',
    });
    const page = await get(`/search?q=${word}`);
    expect(page.statusCode).toBe(200);
    expect(cardIds(page.body)).toEqual([videoId]);
    expect(page.body).toContain(`<mark>${word}</mark>`);
    expect(page.body).toContain(`Tutorials matching “${word}”`);
    expect(page.body).toMatch(
      new RegExp(`<input\\s+id="search-query"\\s+type="search"\\s+name="q"\\s+value="${word}"`),
    );
    expect(cardIds((await get(`/search?q=replaying+${word}`)).body)).toEqual([videoId]);
  });

  it('escapes hostile names, descriptions and transcripts in results: only its own marks are markup', async () => {
    const word = unique();
    await video({
      name: `${HOSTILE} ${word}`,
      description: `${HOSTILE} \u0001<b>forged</b>\u0002 ${word} <mark>fake</mark> &amp; &lt;`,
      transcription: `${word} </p><script>alert(3)</script>`,
    });
    const page = await get(`/search?q=${encodeURIComponent(`${word} forged`)}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toMatch(/<script>alert|<img src=x|<b>forged|onerror=alert\(2\)>/);
    expect(page.body).not.toContain('<mark>fake');
    expect(hasMarkCharacters(page.body)).toBe(false);
    const snippet = /<p class="snippet">([\s\S]*?)<\/p>/.exec(page.body)![1]!;
    expect(snippet.replace(/<\/?mark>/g, '')).not.toMatch(/<|>/);
    expect(snippet).toContain(`<mark>${word}</mark>`);
    expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    // The query itself comes back escaped, in the heading and the field.
    const echoed = await get(`/search?q=${encodeURIComponent(`${HOSTILE} ${word}`)}`);
    expect(echoed.statusCode).toBe(200);
    expect(echoed.body).not.toMatch(/<script>alert|<img src=x/);
    expect(echoed.body).toContain('value="&quot;&gt;&lt;script&gt;');
  });

  it('answers hostile and odd searches with results or none, never a server error', async () => {
    for (const q of ["'", "''", '&|!', '!', '(', ')', '<->', ':*', '"', '-', 'or', '\\', '%', '🎬', '\u0001\u0002']) {
      const response = await get(`/search?q=${encodeURIComponent(q)}`);
      expect(response.statusCode, JSON.stringify(q)).toBe(200);
      expect(hasMarkCharacters(response.body)).toBe(false);
    }
    expect((await get(`/search?q=${encodeURIComponent('&|!')}`)).body).toContain('data-testid="no-results"');
    // Control characters are spaces to a search; a NUL is refused at the door like everywhere.
    const word = unique();
    const { videoId } = await video({ name: `${word} tabs` });
    expect(cardIds((await get(`/search?q=${word}%09%0A%1Ftabs`)).body)).toEqual([videoId]);
    expect((await get(`/search?q=${word}%00`)).statusCode).toBe(400);
  });

  it('with nothing to search for: the search form, no results and no error', async () => {
    for (const url of ['/search', '/search?q=', '/search?q=%20%20', '/search?q=%01']) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(200);
      expect(response.body).toContain('<h1>Search tutorials</h1>');
      expect(response.body).not.toContain('results-title');
      expect(response.body).not.toContain('error-summary');
    }
  });

  it('refuses a search over 200 characters (10 kB too) with a sentence, the field keeping the first 200', async () => {
    for (const q of ['a'.repeat(201), 'word '.repeat(2_048)]) {
      const response = await get(`/search?q=${encodeURIComponent(q)}`);
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('A search can be at most 200 characters long. Use fewer words.');
      expect(response.body).toContain('aria-invalid="true"');
      expect(response.body).toContain('data-testid="error-summary"');
      expect(/name="q"\s+value="([^"]*)"/.exec(response.body)![1]!.length).toBeLessThanOrEqual(200);
    }
    expect((await get(`/search?q=${'a'.repeat(200)}`)).statusCode).toBe(200);
    const twice = await get('/search?q=one&q=two');
    expect(twice.statusCode).toBe(400);
    expect(twice.body).toContain('Search for one thing at a time.');
  });

  it('pages results ten at a time, up to page 20; any other page is refused with a sentence', async () => {
    const word = unique();
    for (let n = 0; n < 12; n++) await video({ name: `${word} ${n}` });
    const first = await get(`/search?q=${word}`);
    expect(cardIds(first.body)).toHaveLength(10);
    expect(pageLinks(first.body)).toEqual({ previous: null, next: `/search?q=${word}&page=2` });
    const second = await get(`/search?q=${word}&page=2`);
    expect(cardIds(second.body)).toHaveLength(2);
    expect(pageLinks(second.body)).toEqual({ previous: `/search?q=${word}`, next: null });
    expect(new Set([...cardIds(first.body), ...cardIds(second.body)]).size).toBe(12);
    for (const page of ['0', '21', '-1', '1.5', 'abc', '', '1&page=2', '9'.repeat(50)]) {
      const response = await get(`/search?q=${word}&page=${page}`);
      expect(response.statusCode, page).toBe(400);
      expect(response.body).toContain('Search results go from page 1 to page 20. Try a more precise search.');
    }
    expect((await get(`/search?q=${word}&page=20`)).statusCode).toBe(200);
  });
});

describe('every page', () => {
  it('has the site’s search box in its header, which works without JavaScript (a GET form)', async () => {
    const page = await get('/videos');
    expect(page.body).toMatch(
      /<form class="site-search" method="get" action="\/search" role="search" aria-label="Site">/,
    );
    expect(page.body).toMatch(/<input id="site-search" type="search" name="q" maxlength="200"/);
  });
});

describe('snippet markup', () => {
  it('escapes everything, makes only whole pairs of marks <mark>, and drops stray ones', () => {
    expect(highlightedSnippet('a \u0001<b>\u0002 c').value).toBe('a <mark>&lt;b&gt;</mark> c');
    expect(highlightedSnippet('\u0002x\u0001 \u0001\u0001y\u0002').value).toBe('x <mark>y</mark>');
    expect(highlightedSnippet('"&\'').value).toBe('&quot;&amp;&#39;');
  });

  it('searches normalized: control characters as spaces, spaces collapsed', () => {
    expect(normalizeSearch(' a\tb\u0000c\u0085d  e ')).toBe('a b c d e');
  });
});

describe('creators’ names on cards', () => {
  const creatorOf = (body: string, videoId: string) =>
    new RegExp(`data-video-id="${videoId}">[\\s\\S]*?<span class="creator">(.*?)</span>`).exec(body)?.[1];

  it('shows the display name the creator gave, escaped, without bidirectional controls; the handle otherwise', async () => {
    const named = await registeredCreator(test.store, test.db, { displayName: HOSTILE_DISPLAY_NAME });
    const unnamed = await registeredCreator(test.store, test.db);
    const word = unique();
    const [hostile, plain] = [
      await video({ ownerId: named.userId, name: `Named ${word}` }),
      await video({ ownerId: unnamed.userId, name: `Unnamed ${word}` }),
    ];
    for (const url of ['/videos', `/search?q=${word}`]) {
      const { body } = await get(url);
      expect(creatorOf(body, hostile.videoId), url).toBe('&lt;script&gt;alert(1)&lt;/script&gt; evil');
      expect(creatorOf(body, plain.videoId), url).toBe(creatorName(unnamed.userId));
      expect(body).not.toContain('<script>alert(1)');
      expect(body).not.toContain('\u202e');
      expect(body).not.toContain(named.email);
      expect(body).not.toContain(unnamed.email);
    }
  });

  it('a deleted account’s videos show the handle, no longer the name', async () => {
    const leaving = await registeredCreator(test.store, test.db, { displayName: 'Leaving Soon' });
    const { videoId } = await video({ ownerId: leaving.userId, name: 'Stays after its creator left' });
    expect(creatorOf((await get('/videos')).body, videoId)).toBe('Leaving Soon');
    await leaving.deleteAccount();
    const { body } = await get('/videos');
    expect(creatorOf(body, videoId)).toBe(creatorName(leaving.userId));
    expect(body).not.toContain('Leaving Soon');
  });

  it('a name in a right-to-left script is isolated from the facts around it (<bdi>)', async () => {
    const arabic = await registeredCreator(test.store, test.db, { displayName: 'مريم' });
    const { videoId } = await video({ ownerId: arabic.userId, name: 'Isolated' });
    expect(creatorOf((await get('/videos')).body, videoId)).toBe('<bdi>مريم</bdi>');
  });

  it('a name of nothing but control and bidirectional characters gives way to the handle', () => {
    const ownerId = randomUUID();
    expect(creatorName(ownerId, '\u202e\u2066 \u200f')).toBe(creatorName(ownerId));
    expect(creatorName(ownerId, '  Ada \u202eLovelace\u202c  ')).toBe('Ada Lovelace');
  });
});
