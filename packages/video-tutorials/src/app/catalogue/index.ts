import type { Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import {
  listCataloguePage,
  SEARCH_MAX_LENGTH,
  SEARCH_MAX_PAGE,
  searchCatalogue,
} from '../../aggregators/catalogue/index.js';
import { titleWithErrors, type FormError } from '../../web/forms.js';
import type { SafeHtml } from '../../html.js';
import { pageHref, pageQuery, refusePage } from '../../web/pagination.js';
import { cataloguePage, CONTROL_CHARACTERS, SEARCH_FIELD_ID, searchPage, searchResults } from './views.js';
import { zodRoutes } from '../../web/input.js';

/** Catalogue pages: 24 videos by default, 48 at most (`?size=`). */
export const CATALOGUE_PAGE_SIZE = 24;
export const CATALOGUE_MAX_PAGE_SIZE = 48;
/** Search results per page. */
export const SEARCH_PAGE_SIZE = 10;

/** What was typed, as searched for: control characters (a pasted tab, a forged NUL…) as spaces, spaces collapsed. */
export function normalizeSearch(text: string): string {
  return text.replace(CONTROL_CHARACTERS, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * `/search?q=…&page=…`: the words searched for, normalized (null when the query holds more than one `q`), and the
 * page (undefined: the first; null: one we do not serve). The route answers each case with its own page.
 */
const searchQuery = z.object({
  q: z
    .string()
    .optional()
    .transform((q) => normalizeSearch(q ?? ''))
    .nullable()
    .catch(null),
  page: z
    .string()
    .regex(/^\d{1,3}$/)
    .transform(Number)
    .pipe(z.number().min(1).max(SEARCH_MAX_PAGE))
    .optional()
    .nullable()
    .catch(null),
});

/**
 * The learners' catalogue: every public video, newest first, a page at a time (`/videos`, keyset pagination), and
 * search over names, descriptions and transcripts (`/search?q=`), ranked, with the words found highlighted.
 * Both are plain links and forms: they work without JavaScript.
 */
export function createCatalogueApp({ viewData }: { viewData: Queryable }): FastifyPluginAsync {
  return async (plugin) => {
    // Routes validated by their zod schemas, typed by them (this plugin's routes only).
    const app = zodRoutes(plugin);

    app.get(
      '/videos',
      { schema: { querystring: pageQuery({ defaultSize: CATALOGUE_PAGE_SIZE, maxSize: CATALOGUE_MAX_PAGE_SIZE }) } },
      async (request, reply) => {
        const asked = request.query;
        if ('refusal' in asked) return refusePage(reply, asked.refusal, { href: '/videos', label: 'All tutorials' });
        const page = await listCataloguePage(viewData, asked.request);
        const size = asked.request.size === CATALOGUE_PAGE_SIZE ? null : asked.request.size;
        return reply.view({
          title: 'All tutorials',
          body: cataloguePage({ page, firstPage: !asked.request.cursor, size }),
          description: 'Every published video tutorial, newest first.',
        });
      },
    );

    app.get('/search', { schema: { querystring: searchQuery } }, async (request, reply) => {
      const { q: text, page } = request.query;
      if (text === null)
        return renderSearch(reply, '', [{ field: SEARCH_FIELD_ID, message: 'Search for one thing at a time.' }]);
      if (Array.from(text).length > SEARCH_MAX_LENGTH)
        return renderSearch(reply, Array.from(text).slice(0, SEARCH_MAX_LENGTH).join(''), [
          {
            field: SEARCH_FIELD_ID,
            message: `A search can be at most ${SEARCH_MAX_LENGTH} characters long. Use fewer words.`,
          },
        ]);
      if (page === null)
        return refusePage(
          reply,
          `Search results go from page 1 to page ${SEARCH_MAX_PAGE}. Try a more precise search.`,
          {
            href: pageHref('/search', { q: text }),
            label: 'Back to the first page',
          },
        );
      if (text === '') return renderSearch(reply, '', []);
      const number = page ?? 1;
      const found = await searchCatalogue(viewData, text, {
        offset: (number - 1) * SEARCH_PAGE_SIZE,
        limit: SEARCH_PAGE_SIZE + 1,
      });
      const hits = found.slice(0, SEARCH_PAGE_SIZE);
      const hasNext = found.length > SEARCH_PAGE_SIZE && number < SEARCH_MAX_PAGE;
      return renderSearch(reply, text, [], searchResults({ text, number, hits, hasNext }));
    });
  };
}

function renderSearch(reply: FastifyReply, text: string, errors: FormError[], results?: SafeHtml) {
  return reply.view(
    {
      title: titleWithErrors(text ? `Search: ${text}` : 'Search', errors),
      body: searchPage({ text, errors, ...(results ? { results } : {}) }),
      description: 'Search the video tutorials by name, description and what is said in them.',
    },
    errors.length > 0 ? 400 : 200,
  );
}
