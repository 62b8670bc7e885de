import { stat } from 'node:fs/promises';
import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { CreatorVideo } from '../../aggregators/creators-videos/index.js';
import {
  DeleteVideo,
  ListVideo,
  RetryPublishing,
  UnlistVideo,
  videoPublishingCommandStreamName,
} from '../../contracts/video-publishing.js';
import type { Storage } from '../../storage.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { ownedVideo, videoParams, type PortalApp } from './requests.js';
import { videoTitle } from '../../web/video-card.js';
import { cannotRetry, deleteConfirmation } from './views/choices.js';

/**
 * A video's life in the creators portal, the owner's choices: publish (list it publicly), unlist, delete (after a
 * confirmation page) and try a failed one again. Each is a plain form (CSRF token, no script needed) posting to a
 * route that checks the signed-in user owns the video (404 otherwise, as for anyone else's), writes the command
 * and lands on the operation page, which shows the component's answer. Whether a choice can be taken is the
 * video-publishing component's decision; the forms offered here only follow what View Data shows.
 */
export interface VideoActionsOptions {
  store: MessageStore;
  viewData: Queryable;
  storage: Storage;
}

/** Registers the routes; called inside the creators portal's plugin, so its `requireUser` guard applies. */
export function registerVideoActions(app: PortalApp, { store, viewData, storage }: VideoActionsOptions) {
  /**
   * A choice on the owner's video: it writes the command and lands on the operation page. A choice that
   * transcodes again (`needsUpload`) is refused once the upload is gone.
   */
  async function choose(
    request: FastifyRequest & { params: z.output<typeof videoParams> },
    reply: FastifyReply,
    command: typeof ListVideo | typeof UnlistVideo | typeof DeleteVideo | typeof RetryPublishing,
    { needsUpload = false } = {},
  ) {
    const video = await ownedVideo(viewData, request);
    if (!video) return reply.callNotFound();
    if (needsUpload && !(await sourceKept(storage, video)))
      return reply.view({ title: 'Cannot try again', body: cannotRetry(video) }, 409);
    const { userId } = request.user!;
    await store.write(
      videoPublishingCommandStreamName(video.id),
      command.create({ videoId: video.id }, { metadata: requestMetadata(request, userId) }),
    );
    return reply.redirect(`/creators-portal/operations/${request.traceId}`, 303);
  }

  const schema = { params: videoParams };
  app.post('/creators-portal/videos/:videoId/publish', { schema }, async (request, reply) =>
    choose(request, reply, ListVideo),
  );
  app.post('/creators-portal/videos/:videoId/unlist', { schema }, async (request, reply) =>
    choose(request, reply, UnlistVideo),
  );
  app.post('/creators-portal/videos/:videoId/delete', { schema }, async (request, reply) =>
    choose(request, reply, DeleteVideo),
  );
  app.post('/creators-portal/videos/:videoId/retry', { schema }, async (request, reply) =>
    choose(request, reply, RetryPublishing, { needsUpload: true }),
  );

  // Deleting cannot be undone: a page of its own asks first (a form, so no script is needed to confirm).
  app.get('/creators-portal/videos/:videoId/delete', { schema }, async (request, reply) => {
    const video = await ownedVideo(viewData, request);
    if (!video) return reply.callNotFound();
    return reply.view({ title: `Delete “${videoTitle(video)}”?`, body: deleteConfirmation(video, reply.csrfToken()) });
  });
}

/** True when the video's upload is still in storage, so transcoding it again can work. */
export async function sourceKept(storage: Storage, video: CreatorVideo): Promise<boolean> {
  try {
    return (await stat(storage.pathOf(video.sourceUri))).isFile();
  } catch {
    return false; // removed, or not a storage URI (the book's)
  }
}
