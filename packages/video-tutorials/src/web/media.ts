import { html, type SafeHtml } from '../html.js';

/**
 * Where a video's media is, as its page may show it:
 * - `stored`: a storage URI (`storage:transcoded/…`), served by this system at `/media/videos/{id}` and played
 *   in `<video>` (the CSP's `media-src 'self'`);
 * - `external`: an http(s) URL elsewhere — the book's fake transcoding gave every video a YouTube watch page —
 *   shown only as a link, never embedded, so the CSP stays as it is and no other site's content runs in ours;
 * - `unplayable`: anything else (`javascript:`, `data:`, a URL with credentials, garbage): not shown at all.
 */
export type Media = { kind: 'stored' } | { kind: 'external'; href: string; host: string } | { kind: 'unplayable' };

export function mediaOf(uri: string | null): Media {
  if (uri === null) return { kind: 'unplayable' };
  if (uri.startsWith('storage:')) return { kind: 'stored' };
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { kind: 'unplayable' };
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || !url.hostname)
    return { kind: 'unplayable' };
  // `href` is the URL as parsed: quotes and angle brackets in it are percent-encoded; html`` escapes the rest.
  return { kind: 'external', href: url.href, host: url.hostname };
}

/** The link to a video's media elsewhere, or why there is nothing to play. */
export function externalMedia(media: Media): SafeHtml {
  if (media.kind === 'external')
    return html`<p class="external-media-note">
      This video plays on another site:
      <a class="external-media" href="${media.href}" rel="noopener noreferrer nofollow" target="_blank"
        >watch it at ${media.host}</a
      >
    </p>`;
  return html`<p class="muted" role="status">This video cannot be played here.</p>`;
}
