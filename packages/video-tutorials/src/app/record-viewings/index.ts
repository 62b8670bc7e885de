import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findPublishedVideo } from '../../aggregators/catalogue/index.js';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';
import { refusePage } from '../../web/pagination.js';
import type { PlaybackTokens } from './playback-tokens.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { zodRoutes } from '../../web/input.js';

export { createPlaybackTokens, type PlaybackTokens } from './playback-tokens.js';

/** A video's address: its id, or null for anything else (answered 404, as a video we do not have). */
const params = z.object({ videoId: z.uuid().nullable().catch(null) });

/**
 * A plain form's body (the home page's sample form), whatever it holds: its playback token is checked by the
 * route (the watch page sends its token in a header instead, and no body). Other fields (the CSRF token) are kept.
 */
const viewingForm = z.looseObject({ playbackToken: z.unknown().optional() }).catch({});

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
  return async (plugin) => {
    // Routes validated by their zod schemas, typed by them (this plugin's routes only).
    const app = zodRoutes(plugin);

    app.post(
      '/record-viewing/:videoId',
      {
        schema: { params, body: viewingForm },
        config: { rateLimit: { max: viewingsPerMinute, timeWindow: 60_000 } },
      },
      async (request, reply) => {
        const { videoId } = request.params;
        if (videoId === null) return reply.callNotFound();
        const viewable = sampleVideoIds.includes(videoId) || (await findPublishedVideo(viewData, videoId)) !== null;
        if (!viewable) return reply.callNotFound();
        const viewingId = playbackTokens.verify(
          request.headers['x-playback-token'] ?? request.body.playbackToken,
          videoId,
        );
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

function refuse(request: FastifyRequest, reply: FastifyReply) {
  const message = 'A viewing is recorded when a video is played on this site.';
  if (request.headers.accept?.includes('application/json')) return reply.code(400).send({ error: message });
  return refusePage(reply, message);
}
