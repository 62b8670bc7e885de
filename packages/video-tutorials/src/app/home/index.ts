import type { Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync } from 'fastify';
import { listPublishedVideos } from '../../aggregators/catalogue/index.js';
import { loadHomePage } from '../../aggregators/home-page/index.js';
import { shortLivedCache, type ShortLivedCacheOptions } from '../../view-data/short-lived-cache.js';
import { html, type SafeHtml } from '../../html.js';
import { publicVideoCard } from '../../web/video-card.js';
import type { PlaybackTokens } from '../record-viewings/index.js';

/** The book's sample video to record viewings of, shown (with an invitation to upload) while the catalogue is empty. */
export const SAMPLE_VIDEO_ID = '8a1f2c3d-4b5e-4f60-8a71-92b3c4d5e6f7';

/** The latest videos the home page shows; the catalogue (`/videos`) has them all. */
const HOME_VIDEOS = 12;

/** What every visitor's home page shows alike: the count of views and the latest videos' cards, rendered. */
interface HomeContent {
  videosWatched: number;
  latestVideos: SafeHtml | null;
}

/**
 * The home application: the global count of views and the published videos, from View Data. With `cache`, what
 * every visitor sees alike is read and rendered once per `cache.ttlMs` (or per View Data change this process
 * commits), not per request: rendering the cards cost more than the rest of the page (see "Speed" in the README).
 */
export function createHomeApp({
  viewData,
  playbackTokens,
  cache,
}: {
  viewData: Queryable;
  playbackTokens: PlaybackTokens;
  cache?: ShortLivedCacheOptions | undefined;
}): FastifyPluginAsync {
  const loadContent = async (): Promise<HomeContent> => {
    const [{ videosWatched }, videos] = await Promise.all([
      loadHomePage(viewData),
      listPublishedVideos(viewData, HOME_VIDEOS),
    ]);
    return {
      videosWatched,
      latestVideos:
        videos.length > 0
          ? html`<section>
              <h2>Latest tutorials</h2>
              <ul class="videos">
                ${videos.map((video) => publicVideoCard(video))}
              </ul>
              <p><a class="button secondary" href="/videos">All tutorials</a></p>
            </section>`
          : null,
    };
  };
  const kept = cache ? shortLivedCache<HomeContent>(cache) : null;
  const content = () => (kept ? kept.get('home', loadContent) : loadContent());

  return async (app) => {
    app.get('/', async (request, reply) => {
      const shown = await content();
      const { videosWatched, latestVideos } = shown;
      return reply.page(
        'Home',
        html`<section class="card hero">
            <div class="hero-text">
              <h1>Learn by watching</h1>
              <p class="lead muted">Short video tutorials. Every view counts.</p>
            </div>
            <p class="stat-block">
              <span class="stat" data-testid="videos-watched">${videosWatched}</span>
              <span class="stat-label" data-testid="views-label">${videosWatched === 1 ? 'view' : 'views'}</span>
            </p>
          </section>
          ${
            latestVideos ??
            html`<section class="card" data-testid="no-videos">
                <h2>No tutorials yet</h2>
                <p class="muted">
                  Have something to teach? Upload a video: it is transcoded for the web and shows here once it is
                  published.
                </p>
                <p><a class="button" href="/creators-portal">Upload a video</a></p>
              </section>
              <section class="card tutorial" data-testid="sample-tutorial">
                <div class="tutorial-thumb" aria-hidden="true"><span class="tutorial-play"></span></div>
                <div class="tutorial-body">
                  <h2>Sample tutorial</h2>
                  <p class="muted">
                    Until a video is published, this sample stands in for one: recording a viewing sends a
                    <code>VideoViewed</code> event, and the count above follows.
                  </p>
                  <form method="post" action="/record-viewing/${SAMPLE_VIDEO_ID}">
                    <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
                    <input type="hidden" name="playbackToken" value="${playbackTokens.issue(SAMPLE_VIDEO_ID)}" />
                    <button type="submit">Record a viewing</button>
                  </form>
                </div>
              </section>`
          }`,
        200,
        {
          description: 'Learn by watching: short video tutorials, and how many views they have had.',
          // The empty catalogue's sample form carries this visitor's tokens; the latest videos are everyone's —
          // worth keeping rendered only while the content itself is kept.
          ...(latestVideos && kept ? { sameForEveryVisitorAs: shown } : {}),
        },
      );
    });
  };
}
