import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MessageStore, StoredMessage } from '@vt/message-store';
import type { TestDatabase } from '@vt/message-store/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCatalogueEvents } from '../../aggregators/catalogue/index.js';
import {
  PublishingStarted,
  VideoDescribed,
  VideoNamed,
  VideoPublished,
  videoPublishingStreamName,
  VideoTranscoded,
} from '../../contracts/video-publishing.js';
import { readConfig } from '../../config.js';
import { createStorage } from '../../storage.js';
import { webServerOptions } from '../../system.js';
import { createSystemTestDatabase } from '../../testing.js';
import { buildWebServer } from '../../web/server.js';
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
  const [stored] = await test.store.read(streamName, position, 1);
  return stored!;
}

/** A published video, as the catalogue aggregator sees it: transcoded (with a poster) or not, named, described. */
async function publish({ name, description, poster }: { name?: string; description?: string; poster: boolean }) {
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
  messages.push(await written(stream, VideoPublished.create({ ownerId, sourceUri, transcodedUri, videoId })));
  if (name) messages.push(await written(stream, VideoNamed.create({ name })));
  if (description) messages.push(await written(stream, VideoDescribed.create({ description })));
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
