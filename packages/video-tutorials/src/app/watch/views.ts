import type { CatalogueVideo } from '../../aggregators/catalogue/index.js';
import { clockTime, type Cue } from '../../captions.js';
import { html } from '../../html.js';
import { externalMedia, type Media } from '../../web/media.js';
import { creatorName, publicVideoCard, videoFacts } from '../../web/video-card.js';

/** The page of a video its owner deleted (410). */
export function deletedVideoPage() {
  return html`<div class="card narrow">
    <h1>This video has been deleted</h1>
    <p>Its owner deleted it: it can no longer be watched.</p>
    <a class="button" href="/">See the other tutorials</a>
  </div>`;
}

/** What the player of a video stored here needs: this page's tokens, where it starts, its captions. */
export interface Player {
  csrfToken: string;
  playbackToken: string;
  /** `?t=`: the second it starts at. */
  startAt: number | undefined;
  captions: readonly Cue[];
}

/**
 * The watch page of a public video: its player (`player`, for media stored here) or the link to its media
 * elsewhere, its facts and live count, description and transcript (a line per cue when it has captions), and
 * the videos to watch next.
 */
export function watchPage({
  video,
  title,
  media,
  player,
  nextVideos,
}: {
  video: CatalogueVideo;
  title: string;
  media: Media;
  player: Player | null;
  nextVideos: readonly CatalogueVideo[];
}) {
  const captions = player?.captions ?? [];
  return html`<article class="card watch">
      ${
        player
          ? html`<video
              class="player"
              controls
              preload="metadata"
              aria-label="${title}"
              poster="/media/posters/${video.id}"
              src="/media/videos/${video.id}${player.startAt ? `#t=${player.startAt}` : ''}"
              data-video-id="${video.id}"
              data-csrf="${player.csrfToken}"
              data-playback-token="${player.playbackToken}"
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
    }`;
}

/**
 * The watch page's head: its scripts, and the Open Graph tags of link previews — `og:url` and `og:image` only
 * with the site's public address (`origin`), their URLs being absolute.
 */
export function watchHead({
  videoId,
  title,
  description,
  hasCaptions,
  hasPoster,
  origin,
}: {
  videoId: string;
  title: string;
  description: string;
  hasCaptions: boolean;
  hasPoster: boolean;
  origin: string | undefined;
}) {
  return html`<script src="/assets/watch.js" defer></script>
    ${hasCaptions ? html`<script src="/assets/transcript.js" defer></script>` : ''}
    <meta property="og:type" content="video.other" />
    <meta property="og:title" content="${title}" />
    <meta property="og:description" content="${description}" />
    ${origin ? html`<meta property="og:url" content="${origin}/videos/${videoId}" />` : ''}
    ${origin && hasPoster ? html`<meta property="og:image" content="${origin}/media/posters/${videoId}" />` : ''}`;
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
