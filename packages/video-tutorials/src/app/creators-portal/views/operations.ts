import { html } from '../../../html.js';

/** A change sent whose outcome is not known yet: the page follows it (operation.js), or refreshes itself. */
export function operationPending(traceId: string) {
  return html`<div class="card narrow" data-operation="${traceId}">
    <h1>Working on it…</h1>
    <p class="muted" role="status">Your change has been sent. This page updates by itself when it is done.</p>
    <a href="/creators-portal">Back to my videos</a>
  </div>`;
}

/** The outcome of a change: saved, or the component's reason; back to the video, or to the list once it is deleted. */
export function operationOutcome({
  succeeded,
  failureReason,
  videoId,
  deleted,
}: {
  succeeded: boolean;
  failureReason: string | null;
  videoId: string;
  deleted: boolean;
}) {
  return html`<div class="card narrow">
    <h1>${succeeded ? 'Done' : 'That did not work'}</h1>
    ${
      succeeded
        ? html`<div class="alert ok" role="status">Your change has been saved.</div>`
        : html`<div class="alert error" role="alert">${failureReason ?? 'It was rejected.'}</div>`
    }
    ${
      deleted
        ? html`<a class="button" href="/creators-portal">Back to my videos</a>`
        : html`<a class="button" href="/creators-portal/videos/${videoId}">Back to the video</a>`
    }
  </div>`;
}
