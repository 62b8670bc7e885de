import type { CreatorVideo } from '../../../aggregators/creators-videos/index.js';
import { html } from '../../../html.js';
import { errorSummary, fieldError, fieldState, type FormError } from '../../../web/forms.js';
import { keysetNavigation } from '../../../web/pagination.js';
import { creatorName, videoCard } from '../../../web/video-card.js';
import type { KeysetPage } from '../../../view-data/keyset-pages.js';
import { failureSentence, statusBadge } from './choices.js';

/** The upload form's file field. */
export const UPLOAD_FIELD_ID = 'upload-video';

/** Said by the server, and by the upload page's script before it sends a file that large. */
export const tooLargeMessage = (maxUploadBytes: number) =>
  `That file is larger than the limit of ${Math.floor(maxUploadBytes / 1024 / 1024)} MB.`;

/**
 * "My videos": the upload form (with what was wrong with the last upload, `errors`) and a page of the owner's
 * videos, each card with what only the owner sees — its status, a failure.
 */
export function myVideosPage({
  page,
  csrfToken,
  maxUploadBytes,
  errors,
  size,
}: {
  page: KeysetPage<CreatorVideo>;
  csrfToken: string;
  maxUploadBytes: number;
  errors: readonly FormError[];
  /** The page size the links keep; null for the default. */
  size: number | null;
}) {
  const videos = page.rows;
  return html`<section class="card">
      <h1>My videos</h1>
      ${errorSummary(errors)}
      <form
        method="post"
        action="/creators-portal/videos?_csrf=${encodeURIComponent(csrfToken)}"
        enctype="multipart/form-data"
        class="stack"
        data-upload
        data-max-bytes="${maxUploadBytes}"
        data-too-large="${tooLargeMessage(maxUploadBytes)}"
        data-failed="The upload did not get through. Check your connection and try again."
      >
        <div class="field">
          <label for="${UPLOAD_FIELD_ID}">Upload a video</label>
          <div class="drop-zone" data-drop-zone>
            <input
              id="${UPLOAD_FIELD_ID}"
              type="file"
              name="video"
              accept="video/*"
              required
              ${fieldState(errors, UPLOAD_FIELD_ID, `${UPLOAD_FIELD_ID}-hint`)}
            />
            <p class="drop-hint" data-drop-hint hidden>or drop a video file here</p>
          </div>
          ${fieldError(errors, UPLOAD_FIELD_ID)}
          <p class="field-error" id="${UPLOAD_FIELD_ID}-live-error" role="alert" data-upload-error hidden></p>
          <p class="field-hint" id="${UPLOAD_FIELD_ID}-hint">
            Up to ${Math.floor(maxUploadBytes / 1024 / 1024)} MB. We transcode it for the web.
          </p>
        </div>
        <div class="upload-progress" data-upload-progress hidden>
          <label for="upload-progress">Uploading your video</label>
          <progress id="upload-progress" max="100" value="0" aria-describedby="upload-progress-text"></progress>
          <p class="muted" id="upload-progress-text" data-upload-progress-text></p>
        </div>
        <button type="submit">Upload</button>
      </form>
    </section>
    <section>
      ${
        videos.length === 0
          ? html`<p class="muted">
              ${page.previous ? 'No more videos here.' : 'No videos yet. Upload your first one above.'}
            </p>`
          : html`<ul class="videos">
              ${videos.map((video) =>
                // The card of every list (web/video-card.ts), with what only the owner sees: status, failure.
                videoCard(
                  {
                    id: video.id,
                    name: video.name,
                    href: `/creators-portal/videos/${video.id}`,
                    hasPoster: video.posterUri !== null,
                    creator: creatorName(video.ownerId, video.ownerDisplayName),
                    date: video.uploadedAt,
                    durationSeconds: video.durationSeconds,
                    viewCount: video.viewCount,
                    extra: html`${statusBadge(video)}
                    ${video.description ? html`<p class="muted">${video.description.slice(0, 140)}</p>` : ''}
                    ${video.status === 'failed' ? html`<p class="field-error">${failureSentence(video)}</p>` : ''}`,
                  },
                  'h2',
                ),
              )}
            </ul>`
      }
      ${keysetNavigation('/creators-portal', page, { size })}
    </section>`;
}

/** Just uploaded: the page waiting for the video's own (the script opens it once View Data has the video). */
export function uploadReceivedPage(videoId: string) {
  return html`<div class="card narrow" data-live-video="${videoId}" data-video-status="absent">
    <h1>Upload received</h1>
    <p class="muted" role="status">We are preparing your video. Its page opens as soon as it is ready.</p>
    <a href="/creators-portal">Back to my videos</a>
  </div>`;
}
