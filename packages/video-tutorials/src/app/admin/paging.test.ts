import { describe, expect, it } from 'vitest';
import { query } from './pages.js';
import { olderThan, pageLinks, pageOf, type PageStart } from './paging.js';

const href = (start: PageStart) => `/list${query(start)}`;

describe('keyset paging', () => {
  it('keeps the page read and tells of more by the one extra item: the oldest, or paging newer the newest', () => {
    expect(pageOf([9, 8, 7], 3)).toEqual({ items: [9, 8, 7], more: false });
    expect(pageOf([9, 8, 7, 6], 3)).toEqual({ items: [9, 8, 7], more: true });
    expect(pageOf([9, 8, 7, 6], 3, true)).toEqual({ items: [8, 7, 6], more: true });
  });

  it('links the newest page only from another page, and older and newer pages only where there are', () => {
    expect(pageLinks(href, { paged: false })).toEqual({ newest: undefined, newer: undefined, older: undefined });
    expect(pageLinks(href, { paged: true, olderFrom: 7, newerFrom: 9 })).toEqual({
      newest: '/list',
      newer: '/list?after=9',
      older: '/list?before=7',
    });
  });

  it('reads before a position only when there is one (0 is one)', () => {
    expect(olderThan(undefined)).toEqual({});
    expect(olderThan(0)).toEqual({ before: 0 });
  });
});
