import type { MessageStore } from '@vt/message-store';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';

const params = z.object({ videoId: z.uuid() });

/** The record-viewings application (the book's chapter 5): writes `VideoViewed`. */
export function createRecordViewingsApp({ store }: { store: MessageStore }): FastifyPluginAsync {
  return async (app) => {
    app.post('/record-viewing/:videoId', async (request, reply) => {
      const parsed = params.safeParse(request.params);
      if (!parsed.success) return reply.callNotFound();
      const { videoId } = parsed.data;
      const userId = request.user?.userId ?? 'anonymous';
      await store.write(
        viewingStreamName(videoId),
        VideoViewed.create({ userId, videoId }, { metadata: { traceId: request.traceId, userId } }),
      );
      // The watch page records a viewing in the background; a plain form goes back home.
      if (request.headers.accept?.includes('application/json')) return reply.code(204).send();
      return reply.redirect('/', 303);
    });
  };
}
