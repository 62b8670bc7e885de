import path from 'node:path';
import type { Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  findCaptionCues,
  findNextVideos,
  findPublishedVideo,
  findViewCount,
  isDeletedVideo,
} from '../../aggregators/catalogue/index.js';
import { toWebVtt } from '../../captions.js';
import { findVideoOfOwner } from '../../aggregators/creators-videos/index.js';
import type { Storage } from '../../storage.js';
import { summarize } from '../../web/layout.js';
import { mediaOf } from '../../web/media.js';
import { videoTitle } from '../../web/video-card.js';
import type { PlaybackTokens } from '../record-viewings/index.js';
import { deletedVideoPage, watchHead, watchPage } from './views.js';
import { zodRoutes } from '../../web/input.js';

/** A video's address: its id, or null for anything else (answered 404, as a video we do not have). */
const params = z.object({ videoId: z.uuid().nullable().catch(null) });
/** `?t=12`: where the video starts, in whole seconds (a transcript line's link, without JavaScript); else from the start. */
const query = z.object({
  t: z
    .string()
    .regex(/^\d{1,6}$/)
    .transform(Number)
    .optional()
    .catch(undefined),
});

/**
 * Watching: the public page of a public video (published and listed by its owner), and its media — the
 * transcoded file (with HTTP range requests, so seeking works) and its poster — served to anyone while public,
 * and to the owner otherwise. A deleted video's page answers 410 Gone; any other video not public, 404. Media at an external URL (the book's videos) is
 * only linked to (see web/media.ts): the page's CSP keeps `media-src 'self'`. The page has a meta description and
 * Open Graph tags for link previews; their URLs are absolute, so `og:url` and `og:image` only when `appUrl` is known.
 *
 * Captions: a published video whose transcription has word times has its cues (made by the catalogue aggregator)
 * served as WebVTT at `/videos/{id}/captions.vtt`, the `<track>` of its `<video>`, and listed under it as a
 * timestamped transcript. Each line links to the page with `?t={seconds}`, which starts the video there (a media
 * fragment, `#t=`, on its source) — without JavaScript; with it, `transcript.js` seeks the player in place.
 */
export function createWatchApp({
  viewData,
  storage,
  playbackTokens,
  appUrl,
}: {
  viewData: Queryable;
  storage: Storage;
  playbackTokens: PlaybackTokens;
  /** The site's public address (`APP_URL`), for the absolute URLs of the Open Graph tags. */
  appUrl?: string;
}): FastifyPluginAsync {
  const origin = appUrl?.replace(/\/$/, '');
  return async (plugin) => {
    // Routes validated by their zod schemas, typed by them (this plugin's routes only).
    const app = zodRoutes(plugin);

    app.get('/videos/:videoId', { schema: { params, querystring: query } }, async (request, reply) => {
      const { videoId } = request.params;
      if (videoId === null) return reply.callNotFound();
      const [video, cues, nextVideos] = await Promise.all([
        findPublishedVideo(viewData, videoId),
        findCaptionCues(viewData, videoId),
        findNextVideos(viewData, videoId),
      ]);
      if (!video && (await isDeletedVideo(viewData, videoId)))
        return reply.view(
          { title: 'Video deleted', body: deletedVideoPage(), description: 'This video has been deleted.' },
          410,
        );
      if (!video) return reply.callNotFound();
      const media = mediaOf(video.transcodedUri);
      const title = videoTitle(video);
      const description = summarize(video.description) || `Watch “${title}”, a short video tutorial.`;
      // Only a video stored here is played here, with this page's tokens (recording its viewings) and its captions.
      const player =
        media.kind === 'stored'
          ? {
              csrfToken: reply.csrfToken(),
              playbackToken: playbackTokens.issue(video.id),
              startAt: request.query.t,
              captions: cues ?? [],
            }
          : null;
      return reply.view({
        title: title,
        body: watchPage({ video, title, media, player, nextVideos }),
        description,
        head: watchHead({
          videoId: video.id,
          title,
          description,
          hasCaptions: (player?.captions.length ?? 0) > 0,
          hasPoster: video.posterUri !== null && mediaOf(video.posterUri).kind === 'stored',
          origin,
        }),
      });
    });

    // The watch page's live count (watch.js asks every few seconds while the page is shown): public videos only.
    app.get('/videos/:videoId/view-count', { schema: { params } }, async (request, reply) => {
      const { videoId } = request.params;
      const viewCount = videoId !== null ? await findViewCount(viewData, videoId) : null;
      if (viewCount === null) return reply.code(404).header('cache-control', 'no-store').send({ error: 'Not Found' });
      return reply.header('cache-control', 'no-store').send({ viewCount });
    });

    // The captions, for published videos only, as the video itself: anything else is not found.
    app.get('/videos/:videoId/captions.vtt', { schema: { params } }, async (request, reply) => {
      const { videoId } = request.params;
      const cues = videoId !== null ? await findCaptionCues(viewData, videoId) : null;
      if (!cues || cues.length === 0) return reply.callNotFound();
      return reply
        .header('content-type', 'text/vtt; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .send(toWebVtt(cues));
    });

    app.get('/media/videos/:videoId', { schema: { params } }, async (request, reply) =>
      sendMedia(request, reply, request.params.videoId, 'transcoded'),
    );
    app.get('/media/posters/:videoId', { schema: { params } }, async (request, reply) =>
      sendMedia(request, reply, request.params.videoId, 'poster'),
    );
  };

  async function sendMedia(
    request: FastifyRequest,
    reply: FastifyReply,
    videoId: string | null,
    kind: 'transcoded' | 'poster',
  ) {
    if (videoId === null) return reply.callNotFound();
    const published = await findPublishedVideo(viewData, videoId);
    const owned = !published && request.user ? await findVideoOfOwner(viewData, request.user.userId, videoId) : null;
    // Its owner watches a video that is not public (yet, or any more) in the creators portal.
    const ownedMedia = owned?.status === 'published' ? owned.transcodedUri : null;
    const uri =
      kind === 'poster' ? (published?.posterUri ?? owned?.posterUri) : (published?.transcodedUri ?? ownedMedia);
    // Media elsewhere (the book's videos) is linked from the page, never served or proxied from here.
    if (!uri || mediaOf(uri).kind !== 'stored') return reply.callNotFound();
    const file = path.relative(storage.directory, storage.pathOf(uri));
    // Published media may sit in shared caches; a poster shown only to its owner may not. @fastify/static
    // would set its own `public` Cache-Control over ours, so it is told not to.
    return reply
      .header('cache-control', published ? 'public, max-age=3600' : 'private, no-cache')
      .sendFile(file, storage.directory, { cacheControl: false });
  }
}
