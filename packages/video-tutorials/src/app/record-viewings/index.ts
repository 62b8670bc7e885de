import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findPublishedVideo } from '../../aggregators/catalogue/index.js';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';
import { html } from '../../html.js';
import type { PlaybackTokens } from './playback-tokens.js';
import { requestMetadata } from '../../web/request-metadata.js';

export { createPlaybackTokens, type PlaybackTokens } from './playback-tokens.js';

const params = z.object({ videoId: z.uuid() });

export interface RecordViewingsOptions {
  store: MessageStore;
  viewData: Queryable;
  playbackTokens: PlaybackTokens;
  /** Videos that may be viewed without being published: the home page's sample video. */
  sampleVideoIds?: readonly string[];
  /** Viewings recorded per client address per minute. */
  viewingsPerMinute?: number;
}

/**
 * The record-viewings application (the book's chapter 5): writes `VideoViewed`, for a published video (or the
 * sample video) and a playback token the page playing it issued — at most one viewing per token.
 */
export function createRecordViewingsApp({
  store,
  viewData,
  playbackTokens,
  sampleVideoIds = [],
  viewingsPerMinute = 30,
}: RecordViewingsOptions): FastifyPluginAsync {
  return async (app) => {
    app.post(
      '/record-viewing/:videoId',
      { config: { rateLimit: { max: viewingsPerMinute, timeWindow: 60_000 } } },
      async (request, reply) => {
        const parsed = params.safeParse(request.params);
        if (!parsed.success) return reply.callNotFound();
        const { videoId } = parsed.data;
        const viewable = sampleVideoIds.includes(videoId) || (await findPublishedVideo(viewData, videoId)) !== null;
        if (!viewable) return reply.callNotFound();
        const viewingId = playbackTokens.verify(playbackTokenOf(request), videoId);
        if (viewingId === null) return refuse(request, reply);
        const userId = request.user?.userId ?? 'anonymous';
        await store.write(
          viewingStreamName(videoId),
          VideoViewed.create({ userId, videoId }, { id: viewingId, metadata: requestMetadata(request, userId) }),
        );
        // The watch page records a viewing in the background, and gets the token of the next playback;
        // a plain form goes back home.
        if (request.headers.accept?.includes('application/json'))
          return reply.code(204).header('x-playback-token', playbackTokens.issue(videoId)).send();
        return reply.redirect('/', 303);
      },
    );
  };
}

function playbackTokenOf(request: FastifyRequest): unknown {
  const header = request.headers['x-playback-token'];
  return header ?? (request.body as { playbackToken?: unknown } | undefined)?.playbackToken;
}

function refuse(request: FastifyRequest, reply: FastifyReply) {
  const message = 'A viewing is recorded when a video is played on this site.';
  if (request.headers.accept?.includes('application/json')) return reply.code(400).send({ error: message });
  return reply.page(
    'Cannot do that',
    html`<div class="card narrow">
      <h1>We could not do that</h1>
      <div class="alert error" role="alert">${message}</div>
      <a class="button" href="/">Go home</a>
    </div>`,
    400,
  );
}
