import type { CreatorVideo } from '../../../aggregators/creators-videos/index.js';
import { html } from '../../../html.js';
import { videoTitle } from '../../../web/video-card.js';
import { explainFailure } from '../failure-reasons.js';

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

/** Deleting cannot be undone: the page asking first, its form confirming (no script needed). */
export function deleteConfirmation(video: CreatorVideo, csrfToken: string) {
  return html`<div class="card narrow">
    <h1>Delete “${videoTitle(video)}”?</h1>
    <p>
      The video, its poster and its transcript are removed for good, and its public page is gone. Its views stay counted
      on the home page. This cannot be undone.
    </p>
    <div class="actions">
      <form method="post" action="/creators-portal/videos/${video.id}/delete" class="inline">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <button type="submit" class="danger">Delete the video</button>
      </form>
      <a class="button secondary" href="/creators-portal/videos/${video.id}">Keep it</a>
    </div>
  </div>`;
}

/** Why a failed video cannot be tried again: its upload is gone. */
export function cannotRetry(video: CreatorVideo) {
  return html`<div class="card narrow">
    <h1>We cannot try again</h1>
    <div class="alert error" role="alert">
      We no longer have the file you uploaded. Delete this video and upload the file again.
    </div>
    <a class="button" href="/creators-portal/videos/${video.id}">Back to the video</a>
  </div>`;
}
