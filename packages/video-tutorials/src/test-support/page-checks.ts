/**
 * For the page tests: what a page offers assistive technology, read from its HTML — the links of its video cards
 * with the text a screen reader names them by, and its error summary. Our own markup only: simple patterns do.
 */

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescape = (text: string) => text.replace(/&(amp|lt|gt|quot|#39);/g, (entity) => ENTITIES[entity] ?? entity);

/** The text an element's markup is named by: images by their alt text, what is aria-hidden left out. */
export function accessibleText(markup: string): string {
  return unescape(
    markup
      .replace(/<(\w+)\b[^>]*\baria-hidden="true"[^>]*>[\s\S]*?<\/\1>/g, '')
      .replace(/<img\b[^>]*?\balt="([^"]*)"[^>]*>/g, ' $1 ')
      .replace(/<[^>]+>/g, ' '),
  )
    .replace(/\s+/g, ' ')
    .trim();
}

export interface CardLink {
  href: string;
  /** What a screen reader names the link by. */
  name: string;
  /** Its other attributes, as written (`tabindex`, `aria-hidden`…). */
  attributes: string;
}

/** Each video card of a page (`<li class="card video-card">`), with its links. */
export function videoCards(body: string): { links: CardLink[] }[] {
  return [...body.matchAll(/<li class="card video-card"[^>]*>([\s\S]*?)<\/li>/g)].map(([, card]) => ({
    links: [...card!.matchAll(/<a\b([^>]*)>([\s\S]*?)<\/a\s*>/g)].map(([, attributes, content]) => ({
      href: unescape(/\bhref="([^"]*)"/.exec(attributes!)?.[1] ?? ''),
      name: accessibleText(content!),
      attributes: attributes!.replace(/\s*\bhref="[^"]*"/, '').trim(),
    })),
  }));
}

export interface ErrorSummary {
  /** The container's attributes: it takes the focus (`autofocus`, `tabindex="-1"`). */
  attributes: string;
  /** Its errors, in order: the message, and the `#id` of the field it links to (none for the form as a whole). */
  errors: { message: string; href?: string }[];
}

/** The page's error summary (`data-testid="error-summary"`); `null` when it has none. */
export function errorSummaryOf(body: string): ErrorSummary | null {
  const found = /<div class="error-summary"([^>]*)>([\s\S]*?)<\/ul>/.exec(body);
  if (!found) return null;
  const list = found[2]!.slice(found[2]!.indexOf('<ul'));
  return {
    attributes: found[1]!.trim(),
    errors: [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map(([, item]) => {
      const href = /<a href="([^"]*)"/.exec(item!)?.[1];
      return href ? { message: accessibleText(item!), href: unescape(href) } : { message: accessibleText(item!) };
    }),
  };
}

/** The opening tag of the element with this `id`, or `undefined`. */
export function elementWithId(body: string, id: string): string | undefined {
  return new RegExp(`<\\w+\\s[^>]*?(?<=\\s)id="${id}"[^>]*>`).exec(body)?.[0];
}

/** The addresses of a page's Previous and Next links (web/pagination.ts), unescaped; null when absent. */
export function pageLinks(body: string): { previous: string | null; next: string | null } {
  const link = (rel: string) =>
    new RegExp(`<a class="button secondary" rel="${rel}" href="([^"]*)"`).exec(body)?.[1]?.replace(/&amp;/g, '&') ??
    null;
  return { previous: link('prev'), next: link('next') };
}
