import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MessageStore, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueVideo } from '../../aggregators/catalogue/controls.js';
import { applyCatalogueEvents, findNextVideos } from '../../aggregators/catalogue/index.js';
import {
  PublishingStarted,
  VideoListed,
  VideoDescribed,
  VideoNamed,
  VideoPublished,
  videoPublishingStreamName,
  VideoTranscoded,
  VideoTranscribed,
} from '../../contracts/video-publishing.js';
import type { TimedWord } from '../../contracts/transcribe.js';
import { readConfig } from '../../config.js';
import { createStorage } from '../../storage.js';
import { webServerOptions } from '../../system.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { videoCards } from '../../test-support/page-checks.js';
import { buildWebServer } from '../../web/server.js';
import { creatorName } from '../../web/video-card.js';
import { HOSTILE_DISPLAY_NAME, registeredCreator } from '../../aggregators/user-credentials/controls.js';
import { createPlaybackTokens } from '../record-viewings/index.js';
import { createWatchApp } from './index.js';

/**
 * The watch page's head: a meta description (the video's own, else one made from its name) and Open Graph tags,
 * every value escaped; `og:url` and `og:image` absolute, so only when the site's address is known, and `og:image`
 * only for a video with a poster.
 */
const SECRET = 'a-test-cookie-secret-of-at-least-32-chars';
const APP_URL = 'https://videos.example.com';
const HOSTILE = '"><script>alert(1)</script>';
const HOSTILE_ESCAPED = '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;';

let test: TestDatabase & { store: MessageStore };
let directory: string;
/** Wired as the system wires it, with the site's address. */
let app: FastifyInstance;
/** Without the site's address. */
let bare: FastifyInstance;
/** As the system wires it, from the configuration (`APP_URL`). */
let wired: FastifyInstance;
beforeAll(async () => {
  test = await createSystemTestDatabase();
  directory = await mkdtemp(path.join(tmpdir(), 'watch-test-'));
  const storage = createStorage(directory);
  const playbackTokens = createPlaybackTokens(SECRET);
  const server = (appUrl?: string) =>
    buildWebServer({
      appName: 'Video Tutorials',
      cookieSecret: SECRET,
      secureCookies: false,
      applications: [createWatchApp({ viewData: test.db, storage, playbackTokens, ...(appUrl ? { appUrl } : {}) })],
    });
  app = await server(APP_URL);
  bare = await server();
  const config = readConfig({ NODE_ENV: 'test', DATA_DIRECTORY: directory, APP_URL: 'https://tutorials.example.org/' });
  wired = await buildWebServer(
    webServerOptions(config, { store: test.store, viewData: test.db, storage, cookieSecret: SECRET }),
  );
});
afterAll(async () => {
  await app?.close();
  await bare?.close();
  await wired?.close();
  await test?.drop();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function written(streamName: string, message: Parameters<MessageStore['write']>[1]): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

/**
 * A published video, as the catalogue aggregator sees it: transcoded (with a poster) or not, named, described,
 * transcribed with word times or not, and listed by its owner; not published at all with `published: false`.
 */
async function publish({
  name,
  description,
  poster,
  words,
  published = true,
}: {
  name?: string;
  description?: string;
  poster: boolean;
  words?: TimedWord[];
  published?: boolean;
}) {
  const videoId = randomUUID();
  const ownerId = randomUUID();
  const stream = videoPublishingStreamName(videoId);
  const sourceUri = `storage:uploads/${videoId}.mp4`;
  const transcodedUri = `storage:transcoded/${videoId}.mp4`;
  const messages = [await written(stream, PublishingStarted.create({ ownerId, sourceUri, videoId }))];
  if (poster)
    messages.push(
      await written(
        stream,
        VideoTranscoded.create({
          videoId,
          transcodeId: randomUUID(),
          transcodedUri,
          posterUri: `storage:posters/${videoId}.jpg`,
          durationSeconds: 3,
        }),
      ),
    );
  if (words) {
    const transcription = words.map(([word]) => word).join(' ');
    messages.push(
      await written(stream, VideoTranscribed.create({ videoId, transcribeId: randomUUID(), transcription, words })),
    );
  }
  if (published)
    messages.push(await written(stream, VideoPublished.create({ ownerId, sourceUri, transcodedUri, videoId })));
  if (name) messages.push(await written(stream, VideoNamed.create({ name })));
  if (description) messages.push(await written(stream, VideoDescribed.create({ description })));
  // Its owner's choice: public.
  if (published) messages.push(await written(stream, VideoListed.create({ videoId })));
  await test.db.transaction((tx) => applyCatalogueEvents(messages, tx));
  return videoId;
}

/** The `content` of every `<meta>` with that `property` (or `name`), as written in the page. */
const metas = (body: string, key: string) =>
  [...body.matchAll(new RegExp(`<meta (?:property|name)="${key}" content="([^"]*)" />`, 'g'))].map((match) => match[1]);

describe('the watch page’s head', () => {
  it('has Open Graph tags and a description, everything from the video escaped', async () => {
    const videoId = await publish({
      name: `A name ${HOSTILE}`,
      description: `A description ${HOSTILE}`,
      poster: true,
    });
    const page = await app.inject({ url: `/videos/${videoId}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<script>alert(1)');
    expect(page.body).not.toContain('"><script>');
    const head = page.body.slice(0, page.body.indexOf('</head>'));
    expect(metas(head, 'og:type')).toEqual(['video.other']);
    expect(metas(head, 'og:title')).toEqual([`A name ${HOSTILE_ESCAPED}`]);
    expect(metas(head, 'og:description')).toEqual([`A description ${HOSTILE_ESCAPED}`]);
    expect(metas(head, 'description')).toEqual([`A description ${HOSTILE_ESCAPED}`]);
    expect(metas(head, 'og:url')).toEqual([`${APP_URL}/videos/${videoId}`]);
    expect(metas(head, 'og:image')).toEqual([`${APP_URL}/media/posters/${videoId}`]);
    expect(head).toContain(`<title>A name ${HOSTILE_ESCAPED} · Video Tutorials</title>`);
    // The CSP is as it was (scripts from the site only), and the page needs no inline script or style.
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['content-security-policy']).toContain("script-src 'self';");
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page.body).not.toMatch(/<style\b|\sstyle="/);
  });

  it('without a poster has no og:image; without a description, one made from its name', async () => {
    const videoId = await publish({ name: 'Plain & simple', poster: false });
    const head = (await app.inject({ url: `/videos/${videoId}` })).body.split('</head>')[0]!;
    expect(metas(head, 'og:image')).toEqual([]);
    expect(metas(head, 'og:url')).toEqual([`${APP_URL}/videos/${videoId}`]);
    expect(metas(head, 'og:title')).toEqual(['Plain &amp; simple']);
    expect(metas(head, 'description')).toEqual(['Watch “Plain &amp; simple”, a short video tutorial.']);
    expect(metas(head, 'og:description')).toEqual(metas(head, 'description'));

    const untitled = await publish({ poster: false });
    const untitledHead = (await app.inject({ url: `/videos/${untitled}` })).body.split('</head>')[0]!;
    expect(metas(untitledHead, 'og:title')).toEqual(['Untitled video']);
  });

  it('shortens a long description for the meta tags, the page keeping it whole', async () => {
    const long = `${'word '.repeat(100)}end`;
    const videoId = await publish({ name: 'Long', description: long, poster: false });
    const page = await app.inject({ url: `/videos/${videoId}` });
    const [description] = metas(page.body, 'description');
    expect(description!.length).toBeLessThanOrEqual(160);
    expect(description).toMatch(/^word word .*word…$/);
    expect(metas(page.body, 'og:description')).toEqual([description]);
    expect(page.body).toContain(`<p>${long}</p>`);
  });

  it('without the site’s address: no og:url and no og:image, the other tags as before', async () => {
    const videoId = await publish({ name: 'Somewhere', poster: true });
    const head = (await bare.inject({ url: `/videos/${videoId}` })).body.split('</head>')[0]!;
    expect(metas(head, 'og:url')).toEqual([]);
    expect(metas(head, 'og:image')).toEqual([]);
    expect(metas(head, 'og:type')).toEqual(['video.other']);
    expect(metas(head, 'og:title')).toEqual(['Somewhere']);
  });

  it('as the system wires it: og:url and og:image at APP_URL', async () => {
    const videoId = await publish({ name: 'Wired', poster: true });
    const head = (await wired.inject({ url: `/videos/${videoId}` })).body.split('</head>')[0]!;
    expect(metas(head, 'og:url')).toEqual([`https://tutorials.example.org/videos/${videoId}`]);
    expect(metas(head, 'og:image')).toEqual([`https://tutorials.example.org/media/posters/${videoId}`]);
  });

  it('is not there for a video that is not published', async () => {
    const page = await app.inject({ url: `/videos/${randomUUID()}` });
    expect(page.statusCode).toBe(404);
    expect(page.body).not.toContain('og:type');
  });
});

/** Words as transcribe records them: `[word, start, end]`, seconds. */
const WORDS: TimedWord[] = [
  ['hello', 0.33, 0.55],
  ['world', 0.71, 1.05],
  ['this', 12.2, 12.4],
  ['is', 12.45, 12.6],
  ['captioned', 12.7, 13.3],
];

describe('captions', () => {
  it('are served as WebVTT for a published video with word times', async () => {
    const videoId = await publish({ name: 'Captioned', poster: true, words: WORDS });
    const response = await app.inject({ url: `/videos/${videoId}/captions.vtt` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/vtt; charset=utf-8');
    expect(response.headers['cache-control']).toBe('public, max-age=3600');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.body).toBe(
      'WEBVTT\n\n00:00:00.330 --> 00:00:01.050\nhello world\n\n00:00:12.200 --> 00:00:13.300\nthis is captioned\n',
    );
  });

  it('are not found for a video that is not published, unknown, without word times, or not a video id', async () => {
    const unpublished = await publish({ poster: true, words: WORDS, published: false });
    const withoutTimes = await publish({ poster: true });
    for (const videoId of [unpublished, randomUUID(), withoutTimes, 'not-a-uuid', '12345']) {
      const response = await app.inject({ url: `/videos/${videoId}/captions.vtt` });
      expect(response.statusCode, videoId).toBe(404);
      expect(response.body).not.toContain('WEBVTT');
    }
  });

  it('escape a hostile transcription, in the WebVTT file and in the page', async () => {
    const videoId = await publish({
      name: 'Hostile',
      poster: true,
      words: [
        ['<script>alert(1)</script>', 0, 1],
        ['&amp;', 1, 1.5],
        ['-->', 1.5, 2],
        ['\n\n00:00:00.000', 2, 2.5],
        ['"><img', 2.5, 3],
      ],
    });
    const vtt = (await app.inject({ url: `/videos/${videoId}/captions.vtt` })).body;
    expect(vtt).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; --&gt;\n00:00:00.000 "&gt;&lt;img\n',
    );
    const page = (await app.inject({ url: `/videos/${videoId}` })).body;
    expect(page).not.toContain('<script>alert(1)');
    expect(page).not.toContain('"><img');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp;amp; --&gt; 00:00:00.000 &quot;&gt;&lt;img');
  });
});

describe('the watch page’s player and transcript', () => {
  const player = (body: string) => /<video\b[\s\S]*?<\/video>/.exec(body)?.[0] ?? '';

  it('has the captions track, a label naming the video, and a transcript whose lines seek the video', async () => {
    const videoId = await publish({ name: 'Seek & find', poster: true, words: WORDS });
    const page = await app.inject({ url: `/videos/${videoId}` });
    expect(page.statusCode).toBe(200);
    const video = player(page.body);
    expect(video).toMatch(/<video\b[^>]*\saria-label="Seek &amp; find"/);
    expect(video).toContain(`src="/media/videos/${videoId}"`);
    const tracks = [...video.matchAll(/<track\b[^>]*>/g)].map((match) => match[0].replace(/\s+/g, ' '));
    expect(tracks).toEqual([
      `<track kind="captions" srclang="en" label="English" src="/videos/${videoId}/captions.vtt" default />`,
    ]);

    const lines = [
      ...page.body.matchAll(
        /<li>\s*<a href="([^"]*)" data-seek="([^"]*)"\s*><time datetime="([^"]*)">([^<]*)<\/time> ([^<]*)<\/a/g,
      ),
    ];
    expect(lines.map((line) => line.slice(1))).toEqual([
      [`/videos/${videoId}?t=0`, '0.33', 'PT0S', '0:00', 'hello world'],
      [`/videos/${videoId}?t=12`, '12.2', 'PT12S', '0:12', 'this is captioned'],
    ]);
    expect(page.body).toMatch(/<ol class="transcript-lines" aria-labelledby="transcript" data-transcript>/);
    expect(page.body).toContain('<h2 id="transcript">Transcript</h2>');
    expect(page.body).toContain('<script src="/assets/transcript.js" defer></script>');
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('starts the video at ?t= (a transcript line without JavaScript), and ignores a t that is not seconds', async () => {
    const videoId = await publish({ name: 'Later', poster: true, words: WORDS });
    const at = async (query: string) => player((await app.inject({ url: `/videos/${videoId}${query}` })).body);
    expect(await at('?t=12')).toContain(`src="/media/videos/${videoId}#t=12"`);
    for (const query of ['?t=0', '?t=-3', '?t=12.5', '?t=abc', '?t=1234567', '?t=1&t=2', '?t=%22%3E'])
      expect(await at(query), query).toContain(`src="/media/videos/${videoId}"`);
  });

  it('without word times: no track and no script for it, the transcription as text, the video still labelled', async () => {
    const videoId = await publish({ name: 'Plain', poster: true });
    const page = (await app.inject({ url: `/videos/${videoId}` })).body;
    expect(player(page)).toMatch(/<video\b[^>]*\saria-label="Plain"/);
    expect(player(page)).not.toContain('<track');
    expect(page).not.toContain('transcript.js');
    expect(page).not.toContain('transcript-lines');
    expect(page).toContain('<p class="transcript">No transcript for this video.</p>');
    const untitled = await publish({ poster: true });
    expect(player((await app.inject({ url: `/videos/${untitled}` })).body)).toMatch(/aria-label="Untitled video"/);
  });

  it('serves the transcript’s script from the site’s assets', async () => {
    const script = await app.inject({ url: '/assets/transcript.js' });
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript|^application\/javascript/);
    expect(script.body).toContain('data-seek');
  });
});

describe('the watch page’s facts, live count and videos up next', () => {
  it('shows the creator (a neutral handle), the publishing date and the duration, in <time> elements', async () => {
    const { videoId, ownerId } = await catalogueVideo(test.store, test.db, { name: 'Facts', durationSeconds: 75.6 });
    const page = await app.inject({ url: `/videos/${videoId}` });
    const facts = /<p class="video-facts muted" data-testid="video-facts">([\s\S]*?)<\/p>/.exec(page.body)![1]!;
    expect(facts).toContain(`<span class="creator">${creatorName(ownerId)}</span>`);
    expect(facts).toMatch(/<time datetime="\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z">\d{1,2} \w{3} \d{4}<\/time>/);
    expect(facts).toContain('<time datetime="PT1M15S">1:15</time>');
    expect(facts).toMatch(/<span data-view-count="[^"]+"\s*><span data-testid="view-count">0<\/span>/);
    expect(page.body).not.toContain(ownerId);
  });

  it('serves the live count of a public video as JSON, never cached; nothing for any other', async () => {
    const { videoId } = await catalogueVideo(test.store, test.db, { name: 'Live' });
    const count = await app.inject({ url: `/videos/${videoId}/view-count`, headers: { accept: 'application/json' } });
    expect(count.statusCode).toBe(200);
    expect(count.json()).toEqual({ viewCount: 0 });
    expect(count.headers['cache-control']).toBe('no-store');
    const unpublished = await catalogueVideo(test.store, test.db, { name: 'Hidden', published: false });
    for (const id of [unpublished.videoId, randomUUID(), 'not-a-uuid', '12345', `${videoId}%00`]) {
      const response = await app.inject({ url: `/videos/${id}/view-count`, headers: { accept: 'application/json' } });
      expect(response.statusCode, id).toBeGreaterThanOrEqual(400);
      expect(response.statusCode, id).toBeLessThan(500);
      expect(response.body).not.toContain('viewCount');
    }
  });

  it('links to the videos up next: those after it in the catalogue, then from the newest, never itself', async () => {
    const { videoId } = await catalogueVideo(test.store, test.db, { name: 'Current' });
    const page = await app.inject({ url: `/videos/${videoId}` });
    const section = /<section aria-labelledby="next-videos" data-testid="next-videos">([\s\S]*?)<\/section>/.exec(
      page.body,
    )![1]!;
    expect(section).toContain('<h2 id="next-videos">Up next</h2>');
    const cards = videoCards(section);
    expect(cards).toHaveLength(4);
    const expected = (await findNextVideos(test.db, videoId)).map((next) => `/videos/${next.id}`);
    expect(cards.map(({ links }) => links[0]!.href)).toEqual(expected);
    expect(expected).not.toContain(`/videos/${videoId}`);
    expect(section).toMatch(/<span class="creator">Creator \w{6}<\/span>/);
  });

  it('serves the script that keeps the count live: same origin, no inline script', async () => {
    const script = await app.inject({ url: '/assets/watch.js' });
    expect(script.statusCode).toBe(200);
    expect(script.body).toContain('/view-count');
  });
});

describe('the watch page’s creator', () => {
  it('is the display name the creator gave, escaped, in the facts and up next; the handle once they left', async () => {
    const creator = await registeredCreator(test.store, test.db, { displayName: HOSTILE_DISPLAY_NAME });
    const { videoId } = await catalogueVideo(test.store, test.db, { ownerId: creator.userId, name: 'Named creator' });
    await catalogueVideo(test.store, test.db, { name: 'Another, after it' });
    const shown = '<span class="creator">&lt;script&gt;alert(1)&lt;/script&gt; evil</span>';
    const watched = (await app.inject({ url: `/videos/${videoId}` })).body;
    const facts = /<p class="video-facts muted" data-testid="video-facts">([\s\S]*?)<\/p>/.exec(watched)![1]!;
    expect(facts).toContain(shown);
    expect(watched).not.toContain('\u202e');
    expect(watched).not.toContain(creator.email);
    // Up next, on the page of a video published after it.
    const [after] = await test.db.query<{ id: string }>(
      `SELECT id FROM video_catalogue WHERE published_at > (SELECT published_at FROM video_catalogue WHERE id = $1)
        ORDER BY published_at LIMIT 1`,
      [videoId],
    );
    expect((await app.inject({ url: `/videos/${after!.id}` })).body).toContain(shown);

    await creator.deleteAccount();
    const left = (await app.inject({ url: `/videos/${videoId}` })).body;
    expect(left).toContain(`<span class="creator">${creatorName(creator.userId)}</span>`);
    expect(left).not.toContain('alert(1)');
  });
});
