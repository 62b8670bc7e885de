import {
  SEARCH_MAX_LENGTH,
  SNIPPET_MARK_END,
  SNIPPET_MARK_START,
  type CatalogueVideo,
  type SearchHit,
} from '../../aggregators/catalogue/index.js';
import { escapeHtml, html, raw, type SafeHtml } from '../../html.js';
import { errorSummary, fieldState, type FormError } from '../../web/forms.js';
import { keysetNavigation, pageHref, pageNavigation } from '../../web/pagination.js';
import { publicVideoCard } from '../../web/video-card.js';
import type { KeysetPage } from '../../view-data/keyset-pages.js';

export const SEARCH_FIELD_ID = 'search-query';

// Text no page shows as it is: C0 and C1 controls (a search treats them as spaces, a snippet drops them).
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A page of the catalogue (`/videos`): its cards, or why there are none, and its links to the pages around it. */
export function cataloguePage({
  page,
  firstPage,
  size,
}: {
  page: KeysetPage<CatalogueVideo>;
  firstPage: boolean;
  /** The page size the links keep; null for the default. */
  size: number | null;
}) {
  return html`<section>
    <h1>All tutorials</h1>
    ${
      page.rows.length > 0
        ? html`<ul class="videos">
            ${page.rows.map((video) => publicVideoCard(video))}
          </ul>`
        : html`<p class="card muted" data-testid="no-videos">
            ${firstPage ? 'No tutorials are published yet.' : 'No more tutorials here.'}
          </p>`
    }
    ${keysetNavigation('/videos', page, { size })}
  </section>`;
}

/** The search form, with what was searched for and what is wrong with it; the results (if any) under it. */
export function searchPage({ text, errors, results }: { text: string; errors: FormError[]; results?: SafeHtml }) {
  return html`<section class="card">
      <h1>Search tutorials</h1>
      ${errorSummary(errors)}
      <form method="get" action="/search" class="search-form" role="search" aria-label="Search tutorials">
        <label for="${SEARCH_FIELD_ID}">Words in a name, a description or what is said</label>
        ${errors.length > 0 ? html`<p class="field-error" id="${SEARCH_FIELD_ID}-error">${errors[0]!.message}</p>` : ''}
        <div class="search-row">
          <input
            id="${SEARCH_FIELD_ID}"
            type="search"
            name="q"
            value="${text}"
            maxlength="${SEARCH_MAX_LENGTH}"
            ${fieldState(errors, SEARCH_FIELD_ID, `${SEARCH_FIELD_ID}-hint`)}
          />
          <button type="submit">Search</button>
        </div>
        <p class="field-hint" id="${SEARCH_FIELD_ID}-hint">
          “Quotes” find a phrase, <code>or</code> either word, <code>-word</code> leaves a word out.
        </p>
      </form>
    </section>
    ${results ?? ''}`;
}

/**
 * One page of search results: the hits found for `text` on page `number` (`hasNext`: a page follows it), each card
 * with its snippet, the words found highlighted.
 */
export function searchResults({
  text,
  number,
  hits,
  hasNext,
}: {
  text: string;
  number: number;
  hits: readonly SearchHit[];
  hasNext: boolean;
}) {
  return html`<section aria-labelledby="results-title">
    <h2 id="results-title">
      ${hits.length === 0 ? `No tutorials match “${text}”` : `Tutorials matching “${text}”`}
      ${number > 1 ? html`<span class="muted">(page ${number})</span>` : ''}
    </h2>
    ${
      hits.length === 0
        ? html`<p class="muted" data-testid="no-results">
            Try other words, fewer words, or <a href="/videos">browse all tutorials</a>.
          </p>`
        : html`<ul class="videos search-results">
            ${hits.map((hit) =>
              publicVideoCard(
                hit,
                hit.snippet.trim() ? html`<p class="snippet">${highlightedSnippet(hit.snippet)}</p>` : undefined,
              ),
            )}
          </ul>`
    }
    ${pageNavigation({
      previous: number > 1 ? pageHref('/search', { q: text, page: number === 2 ? null : number - 1 }) : null,
      next: hasNext ? pageHref('/search', { q: text, page: number + 1 }) : null,
    })}
  </section>`;
}

/**
 * A snippet as HTML: escaped whole, then the marks the database put around the words found (control characters
 * the text itself cannot hold) made `<mark>` elements — only whole pairs; a stray mark is dropped.
 */
export function highlightedSnippet(snippet: string): SafeHtml {
  const escaped = escapeHtml(snippet);
  const marked = escaped.replace(
    new RegExp(`${SNIPPET_MARK_START}([^${SNIPPET_MARK_START}${SNIPPET_MARK_END}]*)${SNIPPET_MARK_END}`, 'g'),
    '<mark>$1</mark>',
  );
  return raw(marked.replace(CONTROL_CHARACTERS, ''));
}
