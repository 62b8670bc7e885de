import type { Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync } from 'fastify';
import { listPublishedVideos } from '../../aggregators/catalogue/index.js';
import { loadHomePage } from '../../aggregators/home-page/index.js';
import { shortLivedCache, type ShortLivedCacheOptions } from '../../view-data/short-lived-cache.js';
import type { SafeHtml } from '../../html.js';
import { homePage, latestTutorials } from './views.js';
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
    return { videosWatched, latestVideos: videos.length > 0 ? latestTutorials(videos) : null };
  };
  const kept = cache ? shortLivedCache<HomeContent>(cache) : null;
  const content = () => (kept ? kept.get('home', loadContent) : loadContent());

  return async (app) => {
    app.get('/', async (_request, reply) => {
      const shown = await content();
      const { videosWatched, latestVideos } = shown;
      // The sample's form (and its tokens) only while no video is published: a page without a form sets no cookie.
      return reply.view({
        title: 'Home',
        body: homePage({
          videosWatched,
          videos: latestVideos
            ? { latestVideos }
            : {
                sample: {
                  videoId: SAMPLE_VIDEO_ID,
                  csrfToken: reply.csrfToken(),
                  playbackToken: playbackTokens.issue(SAMPLE_VIDEO_ID),
                },
              },
        }),
        description: 'Learn by watching: short video tutorials, and how many views they have had.',
        // The empty catalogue's sample form carries this visitor's tokens; the latest videos are everyone's —
        // worth keeping rendered only while the content itself is kept.
        ...(latestVideos && kept ? { sameForEveryVisitorAs: shown } : {}),
      });
    });
  };
}
