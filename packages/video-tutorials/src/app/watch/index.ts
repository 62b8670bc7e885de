import path from 'node:path';
import type { Queryable } from '@vt/message-store';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findPublishedVideo } from '../../aggregators/catalogue/index.js';
import { findVideoOfOwner } from '../../aggregators/creators-videos/index.js';
import type { Storage } from '../../storage.js';
import { html } from '../../web/html.js';
import { summarize } from '../../web/layout.js';
import { externalMedia, mediaOf } from '../../web/media.js';
import type { PlaybackTokens } from '../record-viewings/index.js';

const params = z.object({ videoId: z.uuid() });

/**
 * Watching: the public page of a published video, and its media — the
 * transcoded file (with HTTP range requests, so seeking works) and its poster —
 * served to anyone once published, and to the owner before. Media at an external URL (the book's videos) is
 * only linked to (see web/media.ts): the page's CSP keeps `media-src 'self'`. The page has a meta description and
 * Open Graph tags for link previews; their URLs are absolute, so `og:url` and `og:image` only when `appUrl` is known.
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
  return async (app) => {
    app.get('/videos/:videoId', async (request, reply) => {
      const parsed = params.safeParse(request.params);
      const video = parsed.success ? await findPublishedVideo(viewData, parsed.data.videoId) : null;
      if (!video) return reply.callNotFound();
      const media = mediaOf(video.transcodedUri);
      const title = video.name || 'Untitled video';
      const description = summarize(video.description) || `Watch “${title}”, a short video tutorial.`;
      const poster = video.posterUri && mediaOf(video.posterUri).kind === 'stored';
      return reply.page(
        title,
        html`<article class="card watch">
          ${
            media.kind === 'stored'
              ? html`<video
                  class="player"
                  controls
                  preload="metadata"
                  poster="/media/posters/${video.id}"
                  src="/media/videos/${video.id}"
                  data-video-id="${video.id}"
                  data-csrf="${reply.csrfToken()}"
                  data-playback-token="${playbackTokens.issue(video.id)}"
                ></video>`
              : externalMedia(media)
          }
          <h1>${title}</h1>
          <p class="muted">
            <span data-testid="view-count">${video.viewCount}</span> ${video.viewCount === 1 ? 'view' : 'views'}
          </p>
          ${video.description ? html`<p>${video.description}</p>` : ''}
          <h2>Transcript</h2>
          <p class="transcript">${video.transcription || 'No transcript for this video.'}</p>
        </article>`,
        200,
        {
          description,
          head: html`<script src="/assets/watch.js" defer></script>
            <meta property="og:type" content="video.other" />
            <meta property="og:title" content="${title}" />
            <meta property="og:description" content="${description}" />
            ${origin ? html`<meta property="og:url" content="${origin}/videos/${video.id}" />` : ''}
            ${origin && poster ? html`<meta property="og:image" content="${origin}/media/posters/${video.id}" />` : ''}`,
        },
      );
    });

    app.get('/media/videos/:videoId', async (request, reply) => sendMedia(request, reply, 'transcoded'));
    app.get('/media/posters/:videoId', async (request, reply) => sendMedia(request, reply, 'poster'));
  };

  async function sendMedia(request: FastifyRequest, reply: FastifyReply, kind: 'transcoded' | 'poster') {
    const parsed = params.safeParse(request.params);
    if (!parsed.success) return reply.callNotFound();
    const { videoId } = parsed.data;
    const published = await findPublishedVideo(viewData, videoId);
    const owned = !published && request.user ? await findVideoOfOwner(viewData, request.user.userId, videoId) : null;
    const uri = kind === 'poster' ? (published?.posterUri ?? owned?.posterUri) : published?.transcodedUri;
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
