import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemTestDatabase } from '../test-support/database.js';
import { createViewDataChanges, shortLivedCache } from './short-lived-cache.js';

/**
 * The short-lived cache the web server reads sessions and the home page's View Data through: how stale what it
 * answers may be. A change this process's aggregators commit shows at once; any other within the cache's time.
 */

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test?.drop());

const homeCount = `SELECT page_data->>'videosWatched' AS videos_watched FROM pages WHERE page_name = 'home'`;
/** What another process's home-page aggregator would commit: the count, changed behind the cache's back. */
const setCount = (count: number) =>
  test.db.query(
    `UPDATE pages SET page_data = jsonb_set(page_data, '{videosWatched}', to_jsonb($1::int)) WHERE page_name = 'home'`,
    [count],
  );
const countRead = async (viewData: TestDatabase['db']) =>
  Number((await viewData.query<{ videos_watched: string }>(homeCount))[0]?.videos_watched ?? 0);

describe('a short-lived cache of View Data', () => {
  it('answers what it read until ttlMs has passed, then reads again', async () => {
    let now = 1_000_000;
    const cache = shortLivedCache<number>({ ttlMs: 1000, now: () => now });
    const count = () => cache.get('home', () => countRead(test.db));
    await setCount(7);
    expect(await count()).toBe(7);
    await setCount(8);
    now += 999;
    expect(await count()).toBe(7);
    now += 1;
    expect(await count()).toBe(8);
  });

  it('reads again at once after a change this process committed', async () => {
    const changes = createViewDataChanges();
    const cache = shortLivedCache<number>({ ttlMs: 60_000, changes });
    const count = () => cache.get('home', () => countRead(test.db));
    await setCount(10);
    expect(await count()).toBe(10);
    await setCount(11);
    expect(await count()).toBe(10);
    changes.changed();
    expect(await count()).toBe(11);
  });

  it('does not keep a failed read', async () => {
    const cache = shortLivedCache<unknown[]>({ ttlMs: 60_000 });
    const sql = 'SELECT count(*)::int AS n FROM short_lived_cache_test';
    const read = () => cache.get('n', () => test.db.query(sql));
    await expect(read()).rejects.toThrow();
    await test.db.exec('CREATE TABLE short_lived_cache_test (id int)');
    expect(await read()).toEqual([{ n: 0 }]);
  });
});

describe('shortLivedCache', () => {
  it('loads once for every caller asking while a load is in flight', async () => {
    const cache = shortLivedCache<number>({ ttlMs: 60_000 });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return loads;
    };
    expect(await Promise.all([cache.get('k', load), cache.get('k', load), cache.get('k', load)])).toEqual([1, 1, 1]);
    expect(await cache.get('k', load)).toBe(1);
    expect(loads).toBe(1);
  });

  it('does not use, after a change, a value whose load began before it', async () => {
    const changes = createViewDataChanges();
    const cache = shortLivedCache<string>({ ttlMs: 60_000, changes });
    let release: () => void = () => {};
    const slow = cache.get('k', () => new Promise<string>((resolve) => (release = () => resolve('before'))));
    changes.changed(); // committed while the load was reading
    release();
    expect(await slow).toBe('before');
    expect(await cache.get('k', async () => 'after')).toBe('after');
  });

  it('forgets a key at once, whatever a load in flight answers later', async () => {
    const cache = shortLivedCache<string>({ ttlMs: 60_000 });
    let release: () => void = () => {};
    const slow = cache.get('session', () => new Promise<string>((resolve) => (release = () => resolve('open'))));
    cache.forget('session');
    release();
    expect(await slow).toBe('open');
    expect(await cache.get('session', async () => 'ended')).toBe('ended');
    expect(await cache.get('session', async () => 'not asked')).toBe('ended');
  });

  it('keeps at most maxEntries values, dropping the oldest', async () => {
    const cache = shortLivedCache<string>({ ttlMs: 60_000, maxEntries: 2 });
    for (const key of ['a', 'b', 'c']) await cache.get(key, async () => `${key}1`);
    expect(await cache.get('b', async () => 'b2')).toBe('b1');
    expect(await cache.get('c', async () => 'c2')).toBe('c1');
    expect(await cache.get('a', async () => 'a2')).toBe('a2');
  });
});
