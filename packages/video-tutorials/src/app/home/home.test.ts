import { randomUUID } from 'node:crypto';
import type { MessageStore, StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCatalogueEvents } from '../../aggregators/catalogue/index.js';
import { applyViewings } from '../../aggregators/home-page/index.js';
import {
  PublishingStarted,
  VideoListed,
  VideoNamed,
  VideoPublished,
  videoPublishingStreamName,
  VideoTranscoded,
} from '../../contracts/video-publishing.js';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { videoCards } from '../../test-support/page-checks.js';
import { buildWebServer } from '../../web/server.js';
import { createPlaybackTokens, createRecordViewingsApp } from '../record-viewings/index.js';
import { createHomeApp, SAMPLE_VIDEO_ID } from './index.js';

/**
 * The home page: its counter counts views ("1 view", "150 views"); while no video is published it invites creators
 * to upload and offers the developer's sample tutorial, which goes once a video is published.
 */
const SECRET = 'a-test-cookie-secret-of-at-least-32-chars';

let test: TestDatabase & { store: MessageStore };
let app: FastifyInstance;
beforeAll(async () => {
  test = await createSystemTestDatabase();
  const { store, db: viewData } = test;
  const playbackTokens = createPlaybackTokens(SECRET);
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: SECRET,
    secureCookies: false,
    applications: [
      createHomeApp({ viewData, playbackTokens }),
      createRecordViewingsApp({ store, viewData, playbackTokens, sampleVideoIds: [SAMPLE_VIDEO_ID] }),
    ],
  });
});
afterAll(async () => {
  await app?.close();
  await test?.drop();
});

async function written(streamName: string, message: Parameters<MessageStore['write']>[1]): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

/** Views as the home-page aggregator counts them: `VideoViewed` events, applied to View Data. */
async function view(times: number) {
  const videoId = randomUUID();
  const messages: StoredMessage[] = [];
  for (let n = 0; n < times; n++)
    messages.push(await written(viewingStreamName(videoId), VideoViewed.create({ userId: 'anonymous', videoId })));
  await test.db.transaction((tx) => applyViewings(messages, tx));
}

/** A video as the catalogue aggregator sees one published and listed by its owner (unless not `listed`); with a poster when `poster`. */
async function publish(name: string, { poster = false, listed = true } = {}) {
  const videoId = randomUUID();
  const ownerId = randomUUID();
  const stream = videoPublishingStreamName(videoId);
  const sourceUri = `storage:uploads/${videoId}.mp4`;
  const transcodedUri = `storage:transcoded/${videoId}.mp4`;
  const posterUri = `storage:posters/${videoId}.jpg`;
  const transcodeId = randomUUID();
  const messages = [
    await written(stream, PublishingStarted.create({ ownerId, sourceUri, videoId })),
    ...(poster
      ? [
          await written(
            stream,
            VideoTranscoded.create({ videoId, transcodeId, transcodedUri, posterUri, durationSeconds: 3 }),
          ),
        ]
      : []),
    await written(stream, VideoNamed.create({ name })),
    await written(stream, VideoPublished.create({ ownerId, sourceUri, transcodedUri, videoId })),
    ...(listed ? [await written(stream, VideoListed.create({ videoId }))] : []),
  ];
  await test.db.transaction((tx) => applyCatalogueEvents(messages, tx));
  return videoId;
}

const counter = (body: string) =>
  /data-testid="videos-watched">([^<]*)<\/span>\s*<span class="stat-label"[^>]*>([^<]*)</.exec(body)?.slice(1, 3);

const UPLOAD_LINK = /<a class="button" href="\/creators-portal">Upload a video<\/a>/;

// In order: the catalogue starts empty, and a video is published in the last test.
describe('the home page', () => {
  it('with nothing viewed and nothing published: 0 views, an invitation to upload, the sample tutorial', async () => {
    const home = await app.inject({ url: '/' });
    expect(home.statusCode).toBe(200);
    expect(counter(home.body)).toEqual(['0', 'views']);
    expect(home.body).toContain('data-testid="no-videos"');
    expect(home.body).toMatch(UPLOAD_LINK);
    expect(home.body).toContain('data-testid="sample-tutorial"');
    expect(home.body).toContain('Sample tutorial');
    expect(home.body).toContain(`action="/record-viewing/${SAMPLE_VIDEO_ID}"`);
  });

  it('says "1 view" for one view and "150 views" for 150', async () => {
    await view(1);
    expect(counter((await app.inject({ url: '/' })).body)).toEqual(['1', 'view']);
    await view(149);
    expect(counter((await app.inject({ url: '/' })).body)).toEqual(['150', 'views']);
  });

  it('a video published but not listed by its owner is not there: the catalogue stays empty', async () => {
    const videoId = await publish('Not public yet', { listed: false });
    const home = await app.inject({ url: '/' });
    expect(home.body).not.toContain(videoId);
    expect(home.body).toContain('data-testid="no-videos"');
  });

  it('once a video is published: lists it, without the sample tutorial or the invitation', async () => {
    const videoId = await publish('Published <first>');
    const home = await app.inject({ url: '/' });
    expect(home.statusCode).toBe(200);
    expect(videoCards(home.body)).toContainEqual({
      links: [{ href: `/videos/${videoId}`, name: 'Published <first>', attributes: 'class="video-card-link"' }],
    });
    expect(home.body).not.toContain('data-testid="sample-tutorial"');
    expect(home.body).not.toContain('Sample tutorial');
    expect(home.body).not.toContain(`/record-viewing/${SAMPLE_VIDEO_ID}`);
    expect(home.body).not.toContain('data-testid="no-videos"');
    expect(home.body).not.toMatch(UPLOAD_LINK);
    expect(counter(home.body)).toEqual(['150', 'views']);
  });

  it('gives each video card one link, thumbnail and title, named by the title: one tab stop', async () => {
    const withPoster = await publish('With a poster', { poster: true });
    const home = await app.inject({ url: '/' });
    expect(home.body).toContain(`<img class="thumb" src="/media/posters/${withPoster}" alt="" loading="lazy" />`);
    const cards = videoCards(home.body);
    expect(cards).toHaveLength(2);
    for (const { links } of cards) {
      // One link: the thumbnail is inside it, not a link of its own without a name.
      expect(links).toHaveLength(1);
      expect(links[0]!.name).toMatch(/^(With a poster|Published <first>)$/);
      expect(links[0]!.attributes).not.toMatch(/tabindex|aria-hidden/);
    }
    expect(cards[0]!.links[0]).toMatchObject({ href: `/videos/${withPoster}`, name: 'With a poster' });
  });
});
