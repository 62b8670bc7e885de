/** The links of one page of a list shown newest first and paged by position (keyset paging). */
export interface PageLinks {
  newest?: string | undefined;
  newer?: string | undefined;
  older?: string | undefined;
}

/** Where a page starts: before a position (older), or after one (newer); neither is the newest page. */
export type PageStart = { before: number } | { after: number } | Record<string, never>;

/**
 * Of the `size + 1` items read newest first, the page and whether there is another beyond it: the
 * extra item is the oldest one, or — paging newer — the newest one.
 */
export function pageOf<T>(found: T[], size: number, pagingNewer = false): { items: T[]; more: boolean } {
  const more = found.length > size;
  return { items: more ? (pagingNewer ? found.slice(1) : found.slice(0, size)) : found, more };
}

/**
 * The links of a page: to the newest page when this is another, and to the pages older than
 * `olderFrom` and newer than `newerFrom` when there are.
 */
export function pageLinks(
  href: (start: PageStart) => string,
  { paged, olderFrom, newerFrom }: { paged: boolean; olderFrom?: number | undefined; newerFrom?: number | undefined },
): PageLinks {
  return {
    newest: paged ? href({}) : undefined,
    newer: newerFrom !== undefined ? href({ after: newerFrom }) : undefined,
    older: olderFrom !== undefined ? href({ before: olderFrom }) : undefined,
  };
}

/** The reading option of a page older than `before`, when there is one. */
export const olderThan = (before: number | undefined) => (before !== undefined ? { before } : {});
