import type { CreatorVideo } from '../../../aggregators/creators-videos/index.js';
import { VIDEO_DESCRIPTION_MAX_LENGTH, VIDEO_NAME_MAX_LENGTH } from '../../../contracts/video-publishing.js';
import { html, type SafeHtml } from '../../../html.js';
import { errorSummary, type FormError } from '../../../web/forms.js';
import { externalMedia, mediaOf } from '../../../web/media.js';
import { hashOf, type VideoPageParts } from '../live.js';
import { videoTitle } from '../../../web/video-card.js';
import { failureSentence, statusBadge, videoChoices } from './choices.js';

/** The video page's script: its parts kept up to date, its forms sent in place (video-live.js). */
export const LIVE_SCRIPT = html`<script src="/assets/video-live.js" defer></script>`;

/** The video page's two forms, each with the component's limit as its `maxlength` (and the app's). */
export const TEXT_FORMS = {
  name: {
    field: 'name',
    id: 'video-name',
    label: 'Name',
    maxLength: VIDEO_NAME_MAX_LENGTH,
    button: 'Save the name',
    saved: 'The name has been saved.',
  },
  describe: {
    field: 'description',
    id: 'video-description',
    label: 'Description',
    maxLength: VIDEO_DESCRIPTION_MAX_LENGTH,
    button: 'Save the description',
    saved: 'The description has been saved.',
  },
} as const;

/** A form of the video page sent without JavaScript: what was typed, kept, and where its request stands. */
export interface TextFormState {
  action: keyof typeof TEXT_FORMS;
  value: string;
  state: { kind: 'saving'; traceId: string } | { kind: 'saved' } | { kind: 'rejected'; message: string };
}

/** The error of a form sent back rejected, beside its field. */
export const textFormErrors = (sent?: TextFormState): FormError[] =>
  sent?.state.kind === 'rejected' ? [{ field: TEXT_FORMS[sent.action].id, message: sent.state.message }] : [];

/**
 * The parts of a video's page that change while it is open: the page renders them, and the live routes send them
 * again when they change (`live.ts`), so the page's script replaces them in place — never the name and description
 * forms. The owner's choices are a part too, their forms without a CSRF token (`csrf` empty): the token is each
 * page's own, so the page renders them with it, hashed without it, and the script fills it in (video-live.js).
 */
export function videoPageParts(video: CreatorVideo, canRetry: boolean, csrf = ''): VideoPageParts {
  const title = videoTitle(video);
  const heading = html`<h1>${title}</h1>
    <p>
      ${statusBadge(video)}
      <span class="muted">${video.viewCount} ${video.viewCount === 1 ? 'view' : 'views'}</span>
    </p>`;
  const media =
    video.status === 'failed'
      ? html`<div class="alert error" role="alert">${failureSentence(video)}</div>`
      : video.status === 'published'
        ? html`${
            mediaOf(video.transcodedUri).kind === 'stored'
              ? html`<video
                  class="player"
                  controls
                  preload="metadata"
                  poster="/media/posters/${video.id}"
                  src="/media/videos/${video.id}"
                ></video>`
              : externalMedia(mediaOf(video.transcodedUri))
          }
          ${video.isPublic ? html`<p><a href="/videos/${video.id}">Open the public page</a></p>` : ''}`
        : // Without scripts nothing refreshes a page with forms on it (it would lose what is typed): a link does.
          html`<p class="muted">
            We are transcoding your video. It shows here once it can be watched.
            <a href="/creators-portal/videos/${video.id}">Check again</a>
          </p>`;
  const about = html`${video.description ? html`<p class="description">${video.description}</p>` : ''}
  ${
    video.transcription
      ? html`<details>
          <summary>Transcript</summary>
          <p>${video.transcription}</p>
        </details>`
      : ''
  }
  ${video.transcriptionFailure ? html`<p class="muted">No transcript: ${video.transcriptionFailure}</p>` : ''}`;
  const choices = html`${videoChoices(video, csrf, canRetry)}`;
  return { title, parts: { heading, media, about, choices } };
}

/** A part of the page the script may replace (`data-live-part`), with the hash of its markup (as sent live). */
const livePart = (name: string, markup: SafeHtml, attributes: SafeHtml = html``, hashed: SafeHtml = markup) =>
  html`<div data-live-part="${name}" data-live-hash="${hashOf(hashed)}" ${attributes}>${markup}</div>`;

/**
 * A video's page in the portal: its live parts, and its name and description forms — as sent back without
 * JavaScript (`sent`), with the text kept and where its request stands.
 */
export function videoPage({
  video,
  canRetry,
  csrfToken,
  sent,
}: {
  video: CreatorVideo;
  canRetry: boolean;
  csrfToken: string;
  sent?: TextFormState | undefined;
}) {
  const { parts } = videoPageParts(video, canRetry);
  const choices = videoPageParts(video, canRetry, csrfToken).parts.choices!;
  return html`${errorSummary(textFormErrors(sent))}
    <div data-live-video="${video.id}" data-video-status="${video.status}">
      <section class="card">
        <p><a href="/creators-portal">← My videos</a></p>
        ${livePart('heading', parts.heading!)} ${livePart('media', parts.media!, html`aria-live="polite"`)}
        ${livePart('about', parts.about!)}
      </section>
      <section class="card">${textForm(csrfToken, video, 'name', sent)}</section>
      <section class="card">${textForm(csrfToken, video, 'describe', sent)}</section>
      ${livePart('choices', choices, html``, parts.choices)}
    </div>`;
}

/**
 * The form naming or describing the video. Its message (`…-message`) says where a request stands: the page's
 * script writes into it, and a page sent back without JavaScript has it written already, with the text kept and,
 * while the outcome is not known, a "Check again" button sending the same form to ask (nothing is written then).
 */
function textForm(csrf: string, video: CreatorVideo, action: keyof typeof TEXT_FORMS, sent?: TextFormState) {
  const form = TEXT_FORMS[action];
  const mine = sent?.action === action ? sent : undefined;
  const value = mine ? mine.value : action === 'name' ? video.name : video.description;
  const state = mine?.state;
  const message =
    state?.kind === 'saving'
      ? 'Saving…'
      : state?.kind === 'saved'
        ? form.saved
        : state?.kind === 'rejected'
          ? state.message
          : '';
  const messageClass =
    state?.kind === 'rejected' ? 'field-error' : state?.kind === 'saved' ? 'form-status ok' : 'form-status';
  const fieldAttributes = html`id="${form.id}" name="${form.field}" maxlength="${form.maxLength}"
  aria-describedby="${form.id}-hint ${form.id}-message" ${state?.kind === 'rejected' ? html`aria-invalid="true"` : ''}`;
  return html`<form
    method="post"
    action="/creators-portal/videos/${video.id}/${action}"
    class="stack"
    data-live-form="${action}"
    data-saved="${form.saved}"
    data-failed="We could not send that. Check your connection and try again."
  >
    <input type="hidden" name="_csrf" value="${csrf}" />
    <div class="field">
      <label for="${form.id}">${form.label}</label>
      ${
        action === 'name'
          ? html`<input type="text" ${fieldAttributes} value="${value}" />`
          : html`<textarea rows="5" ${fieldAttributes}>${value}</textarea>`
      }
      <p class="field-hint" id="${form.id}-hint">Up to ${form.maxLength.toLocaleString('en')} characters.</p>
      <p class="${messageClass}" id="${form.id}-message" role="status">${message}</p>
    </div>
    <div class="form-buttons">
      <button type="submit">${form.button}</button>
      ${
        state?.kind === 'saving'
          ? html`<button type="submit" class="secondary" name="check" value="${state.traceId}">Check again</button>`
          : ''
      }
    </div>
  </form>`;
}

/** The page of a video its owner deleted (410). */
export function deletedVideoPage() {
  return html`<div class="card narrow">
    <h1>Video deleted</h1>
    <p>You deleted this video: its files are gone and it can no longer be watched.</p>
    <a class="button" href="/creators-portal">Back to my videos</a>
  </div>`;
}
