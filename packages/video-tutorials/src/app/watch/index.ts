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
import { clockTime, toWebVtt, type Cue } from '../../captions.js';
import { findVideoOfOwner } from '../../aggregators/creators-videos/index.js';
import type { Storage } from '../../storage.js';
import { html } from '../../html.js';
import { summarize } from '../../web/layout.js';
import { externalMedia, mediaOf } from '../../web/media.js';
import { creatorName, publicVideoCard, videoFacts } from '../../web/video-card.js';
import type { PlaybackTokens } from '../record-viewings/index.js';

const params = z.object({ videoId: z.uuid() });
/** `?t=12`: where the video starts, in whole seconds (a transcript line's link, without JavaScript). */
const query = z.object({
  t: z
    .string()
    .regex(/^\d{1,6}$/)
    .transform(Number),
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
  return async (app) => {
    app.get('/videos/:videoId', async (request, reply) => {
      const parsed = params.safeParse(request.params);
      const [video, cues, nextVideos] = parsed.success
        ? await Promise.all([
            findPublishedVideo(viewData, parsed.data.videoId),
            findCaptionCues(viewData, parsed.data.videoId),
            findNextVideos(viewData, parsed.data.videoId),
          ])
        : [null, null, []];
      if (!video && parsed.success && (await isDeletedVideo(viewData, parsed.data.videoId)))
        return reply.page(
          'Video deleted',
          html`<div class="card narrow">
            <h1>This video has been deleted</h1>
            <p>Its owner deleted it: it can no longer be watched.</p>
            <a class="button" href="/">See the other tutorials</a>
          </div>`,
          410,
          { description: 'This video has been deleted.' },
        );
      if (!video) return reply.callNotFound();
      const media = mediaOf(video.transcodedUri);
      const title = video.name || 'Untitled video';
      const description = summarize(video.description) || `Watch “${title}”, a short video tutorial.`;
      const poster = video.posterUri && mediaOf(video.posterUri).kind === 'stored';
      const captions = media.kind === 'stored' ? (cues ?? []) : [];
      const startAt = query.safeParse(request.query).data?.t;
      return reply.page(
        title,
        html`<article class="card watch">
            ${
              media.kind === 'stored'
                ? html`<video
                    class="player"
                    controls
                    preload="metadata"
                    aria-label="${title}"
                    poster="/media/posters/${video.id}"
                    src="/media/videos/${video.id}${startAt ? `#t=${startAt}` : ''}"
                    data-video-id="${video.id}"
                    data-csrf="${reply.csrfToken()}"
                    data-playback-token="${playbackTokens.issue(video.id)}"
                  >
                    ${
                      captions.length > 0
                        ? html`<track
                            kind="captions"
                            srclang="en"
                            label="English"
                            src="/videos/${video.id}/captions.vtt"
                            default
                          />`
                        : ''
                    }
                  </video>`
                : externalMedia(media)
            }
            <h1>${title}</h1>
            <p class="video-facts muted" data-testid="video-facts">
              ${videoFacts({
                creator: creatorName(video.ownerId, video.ownerDisplayName),
                date: video.publishedAt,
                durationSeconds: video.durationSeconds,
              })}
              ·
              <span data-view-count="${video.id}"
                ><span data-testid="view-count">${video.viewCount}</span>
                <span data-views-word>${video.viewCount === 1 ? 'view' : 'views'}</span></span
              >
            </p>
            ${video.description ? html`<p>${video.description}</p>` : ''}
            <h2 id="transcript">Transcript</h2>
            ${
              captions.length > 0
                ? transcriptLines(video.id, captions)
                : html`<p class="transcript">${video.transcription || 'No transcript for this video.'}</p>`
            }
          </article>
          ${
            nextVideos.length > 0
              ? html`<section aria-labelledby="next-videos" data-testid="next-videos">
                  <h2 id="next-videos">Up next</h2>
                  <ul class="videos">
                    ${nextVideos.map((next) => publicVideoCard(next))}
                  </ul>
                </section>`
              : ''
          }`,
        200,
        {
          description,
          head: html`<script src="/assets/watch.js" defer></script>
            ${captions.length > 0 ? html`<script src="/assets/transcript.js" defer></script>` : ''}
            <meta property="og:type" content="video.other" />
            <meta property="og:title" content="${title}" />
            <meta property="og:description" content="${description}" />
            ${origin ? html`<meta property="og:url" content="${origin}/videos/${video.id}" />` : ''}
            ${origin && poster ? html`<meta property="og:image" content="${origin}/media/posters/${video.id}" />` : ''}`,
        },
      );
    });

    // The watch page's live count (watch.js asks every few seconds while the page is shown): public videos only.
    app.get('/videos/:videoId/view-count', async (request, reply) => {
      const parsed = params.safeParse(request.params);
      const viewCount = parsed.success ? await findViewCount(viewData, parsed.data.videoId) : null;
      if (viewCount === null) return reply.code(404).header('cache-control', 'no-store').send({ error: 'Not Found' });
      return reply.header('cache-control', 'no-store').send({ viewCount });
    });

    // The captions, for published videos only, as the video itself: anything else is not found.
    app.get('/videos/:videoId/captions.vtt', async (request, reply) => {
      const parsed = params.safeParse(request.params);
      const cues = parsed.success ? await findCaptionCues(viewData, parsed.data.videoId) : null;
      if (!cues || cues.length === 0) return reply.callNotFound();
      return reply
        .header('content-type', 'text/vtt; charset=utf-8')
        .header('cache-control', 'public, max-age=3600')
        .send(toWebVtt(cues));
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

/**
 * The cues as a list of lines, `0:12 what is said`, each a link that starts the video there: to the page with
 * `?t=` (no JavaScript needed), and `data-seek` with the cue's exact start for `transcript.js`.
 */
function transcriptLines(videoId: string, cues: readonly Cue[]) {
  return html`<ol class="transcript-lines" aria-labelledby="transcript" data-transcript>
    ${cues.map((cue) => {
      const second = Math.floor(cue.start);
      return html`<li>
        <a href="/videos/${videoId}?t=${second}" data-seek="${cue.start}"
          ><time datetime="PT${second}S">${clockTime(cue.start)}</time> ${cue.lines.join(' ')}</a
        >
      </li>`;
    })}
  </ol>`;
}
