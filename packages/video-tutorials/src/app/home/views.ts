import type { CatalogueVideo } from '../../aggregators/catalogue/index.js';
import { html, type SafeHtml } from '../../html.js';
import { publicVideoCard } from '../../web/video-card.js';

/** The latest videos' cards, with a link to them all. */
export function latestTutorials(videos: readonly CatalogueVideo[]) {
  return html`<section>
    <h2>Latest tutorials</h2>
    <ul class="videos">
      ${videos.map((video) => publicVideoCard(video))}
    </ul>
    <p><a class="button secondary" href="/videos">All tutorials</a></p>
  </section>`;
}

/** The sample video's form: it records a viewing of it, with this page's tokens. */
export interface SampleViewing {
  videoId: string;
  csrfToken: string;
  playbackToken: string;
}

/**
 * The home page: the count of views, then the latest videos (`latestTutorials`) or, while none is published, an
 * invitation to upload and the sample video to record viewings of.
 */
export function homePage({
  videosWatched,
  videos,
}: {
  videosWatched: number;
  videos: { latestVideos: SafeHtml } | { sample: SampleViewing };
}) {
  return html`<section class="card hero">
      <div class="hero-text">
        <h1>Learn by watching</h1>
        <p class="lead muted">Short video tutorials. Every view counts.</p>
      </div>
      <p class="stat-block">
        <span class="stat" data-testid="videos-watched">${videosWatched}</span>
        <span class="stat-label" data-testid="views-label">${videosWatched === 1 ? 'view' : 'views'}</span>
      </p>
    </section>
    ${'latestVideos' in videos ? videos.latestVideos : emptyCatalogue(videos.sample)}`;
}

function emptyCatalogue({ videoId, csrfToken, playbackToken }: SampleViewing) {
  return html`<section class="card" data-testid="no-videos">
      <h2>No tutorials yet</h2>
      <p class="muted">
        Have something to teach? Upload a video: it is transcoded for the web and shows here once it is published.
      </p>
      <p><a class="button" href="/creators-portal">Upload a video</a></p>
    </section>
    <section class="card tutorial" data-testid="sample-tutorial">
      <div class="tutorial-thumb" aria-hidden="true"><span class="tutorial-play"></span></div>
      <div class="tutorial-body">
        <h2>Sample tutorial</h2>
        <p class="muted">
          Until a video is published, this sample stands in for one: recording a viewing sends a
          <code>VideoViewed</code> event, and the count above follows.
        </p>
        <form method="post" action="/record-viewing/${videoId}">
          <input type="hidden" name="_csrf" value="${csrfToken}" />
          <input type="hidden" name="playbackToken" value="${playbackToken}" />
          <button type="submit">Record a viewing</button>
        </form>
      </div>
    </section>`;
}
