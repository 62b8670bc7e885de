import { stat } from 'node:fs/promises';
import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findVideoOfOwner, type CreatorVideo } from '../../aggregators/creators-videos/index.js';
import {
  DeleteVideo,
  ListVideo,
  RetryPublishing,
  UnlistVideo,
  videoPublishingCommandStreamName,
} from '../../contracts/video-publishing.js';
import type { Storage } from '../../storage.js';
import { html } from '../../html.js';
import { explainFailure } from './failure-reasons.js';
import { requestMetadata } from '../../web/request-metadata.js';

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

const videoParams = z.object({ videoId: z.uuid() });

/** Registers the routes; called inside the creators portal's plugin, so its `requireUser` guard applies. */
export function registerVideoActions(app: FastifyInstance, { store, viewData, storage }: VideoActionsOptions) {
  async function ownedVideo(request: FastifyRequest): Promise<CreatorVideo | null> {
    const parsed = videoParams.safeParse(request.params);
    if (!parsed.success || !request.user) return null;
    return findVideoOfOwner(viewData, request.user.userId, parsed.data.videoId);
  }

  /**
   * The handler of a choice: on the owner's video, it writes the command and lands on the operation page.
   * A choice that transcodes again (`needsUpload`) is refused once the upload is gone.
   */
  const choice =
    (
      command: typeof ListVideo | typeof UnlistVideo | typeof DeleteVideo | typeof RetryPublishing,
      { needsUpload = false } = {},
    ) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      const video = await ownedVideo(request);
      if (!video) return reply.callNotFound();
      if (needsUpload && !(await sourceKept(storage, video))) return renderCannotRetry(reply, video);
      const { userId } = request.user!;
      await store.write(
        videoPublishingCommandStreamName(video.id),
        command.create({ videoId: video.id }, { metadata: requestMetadata(request, userId) }),
      );
      return reply.redirect(`/creators-portal/operations/${request.traceId}`, 303);
    };

  app.post('/creators-portal/videos/:videoId/publish', choice(ListVideo));
  app.post('/creators-portal/videos/:videoId/unlist', choice(UnlistVideo));
  app.post('/creators-portal/videos/:videoId/delete', choice(DeleteVideo));
  app.post('/creators-portal/videos/:videoId/retry', choice(RetryPublishing, { needsUpload: true }));

  // Deleting cannot be undone: a page of its own asks first (a form, so no script is needed to confirm).
  app.get('/creators-portal/videos/:videoId/delete', async (request, reply) => {
    const video = await ownedVideo(request);
    if (!video) return reply.callNotFound();
    const title = video.name || 'Untitled video';
    return reply.page(
      `Delete “${title}”?`,
      html`<div class="card narrow">
        <h1>Delete “${title}”?</h1>
        <p>
          The video, its poster and its transcript are removed for good, and its public page is gone. Its views stay
          counted on the home page. This cannot be undone.
        </p>
        <div class="actions">
          <form method="post" action="/creators-portal/videos/${video.id}/delete" class="inline">
            <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
            <button type="submit" class="danger">Delete the video</button>
          </form>
          <a class="button secondary" href="/creators-portal/videos/${video.id}">Keep it</a>
        </div>
      </div>`,
    );
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

function renderCannotRetry(reply: FastifyReply, video: CreatorVideo) {
  return reply.page(
    'Cannot try again',
    html`<div class="card narrow">
      <h1>We cannot try again</h1>
      <div class="alert error" role="alert">
        We no longer have the file you uploaded. Delete this video and upload the file again.
      </div>
      <a class="button" href="/creators-portal/videos/${video.id}">Back to the video</a>
    </div>`,
    409,
  );
}

/** The badge of a video's state, for its owner: processing, failed, ready (only the owner sees it) or public. */
export function statusBadge(video: CreatorVideo) {
  if (video.status === 'processing') return html`<span class="badge processing">Processing</span>`;
  if (video.status === 'failed') return html`<span class="badge failed">Failed</span>`;
  return video.isPublic
    ? html`<span class="badge published public">Public</span>`
    : html`<span class="badge published ready">Ready</span>`;
}

/** What the owner is told about a failed video: a sentence, never the technical reason (the admin's). */
export const failureSentence = (video: CreatorVideo) => explainFailure(video.failureReason).sentence;

/**
 * The video page's card of choices: what it is now and what can be done — publish or unlist a ready video (a name
 * needed first), try a failed one again (when its upload is kept), delete it (not while it is being prepared).
 */
export function videoChoices(video: CreatorVideo, csrf: string, retryPossible: boolean) {
  const form = (action: string, label: string, className = '') =>
    html`<form method="post" action="/creators-portal/videos/${video.id}/${action}" class="inline">
      <input type="hidden" name="_csrf" value="${csrf}" />
      <button type="submit" class="${className}">${label}</button>
    </form>`;
  const remove = html`<a class="button secondary" href="/creators-portal/videos/${video.id}/delete">Delete…</a>`;
  if (video.status === 'processing') return '';
  if (video.status === 'failed')
    return html`<section class="card" aria-labelledby="choices-${video.id}">
      <h2 id="choices-${video.id}">What now?</h2>
      <p>
        ${
          retryPossible
            ? 'We still have the file you uploaded: we can try to prepare it again, or you can delete this video.'
            : 'We no longer have the file you uploaded, so we cannot try again. Delete this video and upload the file again.'
        }
      </p>
      <div class="actions">${retryPossible ? form('retry', 'Try again') : ''} ${remove}</div>
    </section>`;
  return html`<section class="card" aria-labelledby="choices-${video.id}">
    <h2 id="choices-${video.id}">Who can watch it</h2>
    <p data-testid="visibility">
      ${
        video.isPublic
          ? 'Public: anyone can find it on the home page and watch it.'
          : video.name
            ? 'Only you can see it. Publish it to show it on the home page, for anyone to watch.'
            : 'Only you can see it. Give it a name, then publish it for anyone to watch.'
      }
    </p>
    <div class="actions">
      ${video.isPublic ? form('unlist', 'Unlist', 'secondary') : video.name ? form('publish', 'Publish') : ''} ${remove}
    </div>
  </section>`;
}
