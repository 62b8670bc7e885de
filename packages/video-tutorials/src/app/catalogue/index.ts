import type { Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import {
  listCataloguePage,
  SEARCH_MAX_LENGTH,
  SEARCH_MAX_PAGE,
  searchCatalogue,
  SNIPPET_MARK_END,
  SNIPPET_MARK_START,
} from '../../aggregators/catalogue/index.js';
import { errorSummary, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import { escapeHtml, html, raw, type SafeHtml } from '../../html.js';
import { keysetNavigation, pageHref, pageNavigation, readPageRequest, refusePage } from '../../web/pagination.js';
import { publicVideoCard } from '../../web/video-card.js';

/** Catalogue pages: 24 videos by default, 48 at most (`?size=`). */
export const CATALOGUE_PAGE_SIZE = 24;
export const CATALOGUE_MAX_PAGE_SIZE = 48;
/** Search results per page. */
export const SEARCH_PAGE_SIZE = 10;

const SEARCH_FIELD_ID = 'search-query';

/**
 * The learners' catalogue: every public video, newest first, a page at a time (`/videos`, keyset pagination), and
 * search over names, descriptions and transcripts (`/search?q=`), ranked, with the words found highlighted.
 * Both are plain links and forms: they work without JavaScript.
 */
export function createCatalogueApp({ viewData }: { viewData: Queryable }): FastifyPluginAsync {
  return async (app) => {
    app.get('/videos', async (request, reply) => {
      const asked = readPageRequest(request.query, {
        defaultSize: CATALOGUE_PAGE_SIZE,
        maxSize: CATALOGUE_MAX_PAGE_SIZE,
      });
      if ('refusal' in asked) return refusePage(reply, asked.refusal, { href: '/videos', label: 'All tutorials' });
      const page = await listCataloguePage(viewData, asked.request);
      const size = asked.request.size === CATALOGUE_PAGE_SIZE ? null : asked.request.size;
      return reply.page(
        'All tutorials',
        html`<section>
          <h1>All tutorials</h1>
          ${
            page.rows.length > 0
              ? html`<ul class="videos">
                  ${page.rows.map((video) => publicVideoCard(video))}
                </ul>`
              : html`<p class="card muted" data-testid="no-videos">
                  ${asked.request.cursor ? 'No more tutorials here.' : 'No tutorials are published yet.'}
                </p>`
          }
          ${keysetNavigation('/videos', page, { size })}
        </section>`,
        200,
        { description: 'Every published video tutorial, newest first.' },
      );
    });

    app.get('/search', async (request, reply) => {
      const { q, page } = (request.query ?? {}) as Record<string, unknown>;
      if (q !== undefined && typeof q !== 'string')
        return renderSearch(reply, '', [{ field: SEARCH_FIELD_ID, message: 'Search for one thing at a time.' }]);
      const text = normalizeSearch(q ?? '');
      if (Array.from(text).length > SEARCH_MAX_LENGTH)
        return renderSearch(reply, Array.from(text).slice(0, SEARCH_MAX_LENGTH).join(''), [
          {
            field: SEARCH_FIELD_ID,
            message: `A search can be at most ${SEARCH_MAX_LENGTH} characters long. Use fewer words.`,
          },
        ]);
      let number = 1;
      if (page !== undefined) {
        number = typeof page === 'string' && /^\d{1,3}$/.test(page) ? Number(page) : 0;
        if (number < 1 || number > SEARCH_MAX_PAGE)
          return refusePage(
            reply,
            `Search results go from page 1 to page ${SEARCH_MAX_PAGE}. Try a more precise search.`,
            { href: pageHref('/search', { q: text }), label: 'Back to the first page' },
          );
      }
      if (text === '') return renderSearch(reply, '', []);
      const found = await searchCatalogue(viewData, text, {
        offset: (number - 1) * SEARCH_PAGE_SIZE,
        limit: SEARCH_PAGE_SIZE + 1,
      });
      const hits = found.slice(0, SEARCH_PAGE_SIZE);
      const results = html`<section aria-labelledby="results-title">
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
          next:
            found.length > SEARCH_PAGE_SIZE && number < SEARCH_MAX_PAGE
              ? pageHref('/search', { q: text, page: number + 1 })
              : null,
        })}
      </section>`;
      return renderSearch(reply, text, [], results);
    });
  };
}

// Text no page shows as it is: C0 and C1 controls (a search treats them as spaces, a snippet drops them).
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** What was typed, as searched for: control characters (a pasted tab, a forged NUL…) as spaces, spaces collapsed. */
export function normalizeSearch(text: string): string {
  return text.replace(CONTROL_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
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

function renderSearch(reply: FastifyReply, text: string, errors: FormError[], results?: SafeHtml) {
  return reply.page(
    titleWithErrors(text ? `Search: ${text}` : 'Search', errors),
    html`<section class="card">
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
      ${results ?? ''}`,
    errors.length > 0 ? 400 : 200,
    { description: 'Search the video tutorials by name, description and what is said in them.' },
  );
}
