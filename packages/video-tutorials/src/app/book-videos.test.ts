import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOK_SAMPLE_VIDEO_ID,
  BOOK_TRANSCODED_URI,
  bookNamesVideo,
  bookPublishesVideo,
  bookRecordsViewing,
  bookRejectsName,
} from '../book-writes.js';
import { startRunningSystem, type RunningSystem } from '../security/running-system.js';
import { browserSession } from '../test-support/browser-session.js';
import { videoCards } from '../test-support/page-checks.js';

/**
 * The pages a user looks at, over a message store the book's system wrote: its viewings count on the home page,
 * and the video it published with its fake transcoding (its media an external URL) is its owner's in the creators
 * portal and everybody's in the catalogue, with its name. An external URL is only ever a link, escaped, and only
 * when it is http(s); the watch page's CSP stays as it is.
 */
const PASSWORD = 'a password for the book videos test';

let running: RunningSystem;
let ownerBrowser: ReturnType<typeof browserSession>;
const bookVideo = randomUUID();
const scriptVideo = randomUUID();
const quotingVideo = randomUUID();
const namingTrace = randomUUID();
const rejectedTrace = randomUUID();
const QUOTING_URI = 'https://media.example.com/a"><script>alert(1)</script>.mp4';

beforeAll(async () => {
  running = await startRunningSystem();
  const email = `book-owner-${randomUUID()}@example.com`;
  const owner = await running.register(email, PASSWORD);
  const db = running.system.messageStoreDb;

  for (let n = 0; n < 3; n++) await bookRecordsViewing(db, BOOK_SAMPLE_VIDEO_ID, owner);
  for (let n = 0; n < 2; n++) await bookRecordsViewing(db, BOOK_SAMPLE_VIDEO_ID);
  await bookPublishesVideo(db, { videoId: bookVideo, ownerId: owner });
  await bookNamesVideo(db, { videoId: bookVideo, userId: owner, name: 'Learning <Message DB>', traceId: namingTrace });
  await bookRejectsName(db, { videoId: bookVideo, userId: owner, name: '', traceId: rejectedTrace });
  await bookRecordsViewing(db, bookVideo);
  // Not what the book writes, but what a message store may hold: media URLs a page must not trust.
  await bookPublishesVideo(db, { videoId: scriptVideo, ownerId: owner, transcodedUri: 'javascript:alert(1)' });
  await bookPublishesVideo(db, { videoId: quotingVideo, ownerId: owner, transcodedUri: QUOTING_URI });

  await running.caughtUp();
  ownerBrowser = (await running.logIn(email, PASSWORD)).browser;
});
afterAll(() => running?.stop());

describe('the book’s viewings and videos, on this system’s pages', () => {
  it('are parked by no component or aggregator', async () => {
    const subscriptions = running.system.pieces.flatMap((piece) => piece.subscriptions);
    expect(subscriptions.length).toBeGreaterThan(10);
    const parked = await Promise.all(subscriptions.map((subscription) => subscription.parkingLot.list()));
    expect(parked.flat()).toEqual([]);
  });

  it('the home page counts every viewing and lists the book’s video by its name', async () => {
    const home = await browserSession(running.system.web!).get('/');
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain('<span class="stat" data-testid="videos-watched">6</span>');
    expect(videoCards(home.body)).toContainEqual({
      links: [{ href: `/videos/${bookVideo}`, name: 'Learning <Message DB>', attributes: 'class="video-card-link"' }],
    });
    // No poster: no image that cannot load.
    expect(home.body).not.toContain(`/media/posters/${bookVideo}`);
  });

  it('the owner’s portal lists it, and its page links to the external media', async () => {
    const dashboard = await ownerBrowser.get('/creators-portal');
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.body).not.toContain('No videos yet');
    expect(dashboard.body).toContain(`data-video-id="${bookVideo}"`);
    expect(dashboard.body).toContain('Learning &lt;Message DB&gt;');
    // Each card one link (one tab stop), thumbnail and title, named by the title.
    const cards = videoCards(dashboard.body);
    expect(cards).toHaveLength(3);
    for (const { links } of cards) expect(links).toHaveLength(1);
    expect(cards.map(({ links }) => links[0])).toContainEqual({
      href: `/creators-portal/videos/${bookVideo}`,
      name: 'Learning <Message DB>',
      attributes: 'class="video-card-link"',
    });

    const page = await ownerBrowser.get(`/creators-portal/videos/${bookVideo}`);
    expect(page.statusCode).toBe(200);
    // Public as the book showed it: its owner may unlist it.
    expect(page.body).toContain('<span class="badge published public">Public</span>');
    expect(page.body).toContain(`action="/creators-portal/videos/${bookVideo}/unlist"`);
    expect(page.body).toContain(`href="${BOOK_TRANSCODED_URI}"`);
    expect(page.body).not.toContain(`src="/media/videos/${bookVideo}"`);
  });

  it('the watch page shows it with its views and a link to where it plays, the CSP unchanged', async () => {
    const page = await browserSession(running.system.web!).get(`/videos/${bookVideo}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Learning &lt;Message DB&gt;</h1>');
    expect(page.body).toContain('<span data-testid="view-count">1</span>');
    expect(page.body).toMatch(
      new RegExp(
        `<a class="external-media" href="${BOOK_TRANSCODED_URI.replace(/[?.]/g, '\\$&')}" rel="noopener noreferrer nofollow"`,
      ),
    );
    expect(page.body).toContain('www.youtube.com');
    expect(page.body).not.toContain('<video');
    expect(page.headers['content-security-policy']).toContain("media-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('youtube');
    // Its media is not ours to serve: not found, not a server error.
    expect((await browserSession(running.system.web!).get(`/media/videos/${bookVideo}`)).statusCode).toBe(404);
    expect((await browserSession(running.system.web!).get(`/media/posters/${bookVideo}`)).statusCode).toBe(404);
  });

  it('an external URL that is not http(s) is never linked, and one with markup in it is escaped', async () => {
    const scripted = await browserSession(running.system.web!).get(`/videos/${scriptVideo}`);
    expect(scripted.statusCode).toBe(200);
    expect(scripted.body).not.toContain('javascript:');
    expect(scripted.body).toContain('cannot be played here');
    const owned = await ownerBrowser.get(`/creators-portal/videos/${scriptVideo}`);
    expect(owned.body).not.toContain('javascript:');

    const quoting = await browserSession(running.system.web!).get(`/videos/${quotingVideo}`);
    expect(quoting.statusCode).toBe(200);
    expect(quoting.body).not.toContain('<script>alert(1)');
    expect(quoting.body).toContain('href="https://media.example.com/a%22%3E%3Cscript%3Ealert(1)%3C/script%3E.mp4"');
  });

  it('the book’s naming and its rejection have their operation pages', async () => {
    const done = await ownerBrowser.get(`/creators-portal/operations/${namingTrace}`);
    expect(done.statusCode).toBe(200);
    expect(done.body).toContain('Your change has been saved.');
    expect(done.body).toContain(`href="/creators-portal/videos/${bookVideo}"`);
    const rejected = await ownerBrowser.get(`/creators-portal/operations/${rejectedTrace}`);
    expect(rejected.statusCode).toBe(200);
    expect(rejected.body).toContain('That did not work');
    expect(rejected.body).toContain('Name can&#39;t be blank');
  });
});
