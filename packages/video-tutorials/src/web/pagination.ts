import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { decodeCursor, encodeCursor, type KeysetPage, type PageRequest } from '../view-data/keyset-pages.js';
import { html } from '../html.js';

/**
 * Pages of lists in page addresses: `?after=` / `?before=` a cursor (see view-data/keyset-pages.ts) and `?size=`,
 * read strictly, and the Previous/Next links under a list.
 */
/** Why a page address was refused, as a sentence for the page answering 400. */
export const PAGE_ADDRESS_REFUSED = 'This page address is not one we made. Start again from the first page.';

/** The page a query asks for, or the sentence saying why it cannot be served. */
export type PageAsked = { request: PageRequest } | { refusal: string };

/** A cursor we made (`decodeCursor`) as one query value, else null. */
const cursorParameter = z.string().transform(decodeCursor).catch(null);

/**
 * The query schema of a list's pages (`?after=` or `?before=` a cursor, `?size=`): anything but one well-formed
 * value of each is refused rather than guessed at — as the page's answer (a 400 saying why), never a failed
 * validation, which would answer before the route's guards and its page.
 */
export function pageQuery({ defaultSize, maxSize }: { defaultSize: number; maxSize: number }) {
  const pageSize = z
    .string()
    .regex(/^\d{1,3}$/)
    .transform(Number)
    .pipe(z.number().min(1).max(maxSize));
  return z
    .object({ after: z.unknown().optional(), before: z.unknown().optional(), size: z.unknown().optional() })
    .transform(({ after, before, size }): PageAsked => {
      if (after !== undefined && before !== undefined)
        return {
          refusal: 'A page starts after one video or ends before another, not both. Start again from the first page.',
        };
      const sized = size === undefined ? defaultSize : pageSize.safeParse(size).data;
      if (sized === undefined) return { refusal: `A page shows between 1 and ${maxSize} videos.` };
      const given = after ?? before;
      if (given === undefined) return { request: { cursor: null, direction: 'after', size: sized } };
      const cursor = cursorParameter.parse(given);
      if (!cursor) return { refusal: PAGE_ADDRESS_REFUSED };
      return { request: { cursor, direction: after !== undefined ? 'after' : 'before', size: sized } };
    });
}

/** Previous/Next links under a list; nothing when both are absent. */
export function pageNavigation({ previous, next }: { previous: string | null; next: string | null }) {
  if (!previous && !next) return '';
  return html`<nav class="pagination" aria-label="Pages">
    ${previous ? html`<a class="button secondary" rel="prev" href="${previous}">← Previous</a>` : html`<span></span>`}
    ${next ? html`<a class="button secondary" rel="next" href="${next}">Next →</a>` : ''}
  </nav>`;
}

/** The address of a page of `path`: its other query parameters kept, the page's own set (or left out if null). */
export function pageHref(path: string, parameters: Record<string, string | number | null | undefined>): string {
  // `:` may stay as it is in a query (RFC 3986), which keeps a cursor's time readable.
  const encode = (text: string) => encodeURIComponent(text).replace(/%3A/gi, ':');
  const query = Object.entries(parameters)
    .filter(([, value]) => value !== null && value !== undefined && value !== '')
    .map(([name, value]) => `${encode(name)}=${encode(String(value))}`)
    .join('&');
  return query ? `${path}?${query}` : path;
}

/** The links of a keyset page: `?after=` its last row for Next, `?before=` its first for Previous. */
export function keysetNavigation(
  path: string,
  page: Pick<KeysetPage<unknown>, 'next' | 'previous'>,
  keep: Record<string, string | number | null | undefined> = {},
) {
  return pageNavigation({
    previous: page.previous ? pageHref(path, { ...keep, before: encodeCursor(page.previous) }) : null,
    next: page.next ? pageHref(path, { ...keep, after: encodeCursor(page.next) }) : null,
  });
}

/** Why a request is not served as asked, and where to go instead. */
export function refusal(message: string, back = { href: '/', label: 'Go home' }) {
  return html`<div class="card narrow">
    <h1>We could not do that</h1>
    <div class="alert error" role="alert">${message}</div>
    <a class="button" href="${back.href}">${back.label}</a>
  </div>`;
}

/** A request we will not serve as asked, answered 400 with the sentence saying why (never a 500). */
export function refusePage(reply: FastifyReply, message: string, back?: { href: string; label: string }) {
  return reply.view({ title: 'Cannot do that', body: refusal(message, back) }, 400);
}
