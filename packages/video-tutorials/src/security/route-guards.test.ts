import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MP4_HEAD, startWebUnderAttack, type Route, type WebUnderAttack } from './harness.js';

/**
 * Guards belong to routes, not to URL prefixes. Every route Fastify has is listed from Fastify itself
 * (an onRoute hook), so a new route must be declared public here or be guarded, or this test fails.
 * Each guarded route is then asked for in spellings that Fastify may route to the same handler —
 * percent-encoded, case-changed, double slashes, a trailing slash — by an anonymous user, a user and
 * an admin, with a valid CSRF token so only the guard can refuse.
 */
const PUBLIC = new Set([
  'GET /',
  'GET /health',
  'GET /assets/*',
  'GET /favicon.ico',
  'GET /register',
  'POST /register',
  'GET /register/registration-complete',
  'GET /auth/log-in',
  'POST /auth/log-in',
  'POST /auth/log-out',
  // A forgotten password: the token in the e-mailed link is the authorization.
  'GET /auth/forgot-password',
  'POST /auth/forgot-password',
  'GET /auth/reset-password',
  'POST /auth/reset-password',
  'GET /videos/:videoId',
  // The learners' catalogue and search, and a public video's live count (public videos only).
  'GET /videos',
  'GET /search',
  'GET /videos/:videoId/view-count',
  // Published videos' only, as their media.
  'GET /videos/:videoId/captions.vtt',
  'GET /media/videos/:videoId',
  'GET /media/posters/:videoId',
  'POST /record-viewing/:videoId',
  // One-time links from e-mails: the token in them is the authorization.
  'GET /auth/confirm-email',
  'POST /auth/confirm-email',
  'GET /auth/unlock',
  'POST /auth/unlock',
]);

/**
 * The owner's choices about a video (app/creators-portal/video-actions.ts), for signed-in users under the creators
 * portal's guard; that the user owns the video is each route's own check (creators-portal/video-actions.test.ts).
 */
const VIDEO_CHOICES = [
  'POST /creators-portal/videos/:videoId/publish',
  'POST /creators-portal/videos/:videoId/unlist',
  'GET /creators-portal/videos/:videoId/delete',
  'POST /creators-portal/videos/:videoId/delete',
  'POST /creators-portal/videos/:videoId/retry',
];

/** Routes for signed-in users outside the creators portal (and, named one by one, the account page's). */
const FOR_USERS = new Set([
  'POST /auth/confirmation-email',
  'GET /account',
  'POST /account/password',
  // One session of the user's own, by id: a forged id of someone else's is refused (account.test.ts).
  'POST /account/sessions/log-out',
  'POST /account/log-out-everywhere',
  'POST /account/delete',
]);
const accessOf = (route: Route): 'public' | 'user' | 'admin' | 'undeclared' => {
  if (PUBLIC.has(`${route.method} ${route.url}`)) return 'public';
  if (FOR_USERS.has(`${route.method} ${route.url}`)) return 'user';
  if (route.url === '/creators-portal' || route.url.startsWith('/creators-portal/')) return 'user';
  if (route.url === '/account' || route.url.startsWith('/account/')) return 'user';
  if (route.url === '/admin' || route.url.startsWith('/admin/')) return 'admin';
  return 'undeclared';
};

/** A concrete URL for a route pattern: every parameter a well-formed value. */
const concrete = (url: string) =>
  url.replace(/:(\w+)/g, (_match, name: string) => (name === 'streamName' ? `identity-${randomUUID()}` : randomUUID()));

/** Spellings of a path that a URL-prefix check would miss. */
function variants(url: string): string[] {
  const [, first = ''] = url.split('/');
  const encodeChar = (char: string) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  const rest = url.slice(first.length + 1);
  return [
    url,
    `/${encodeChar(first[0]!)}${first.slice(1)}${rest}`, // /%63reators-portal
    `/${first.slice(0, -1)}${encodeChar(first.at(-1)!).toUpperCase()}${rest}`, // /creators-porta%4C
    `/${[...first].map(encodeChar).join('')}${rest}`, // every letter encoded
    `/${first[0]!.toUpperCase()}${first.slice(1)}${rest}`, // /Creators-portal
    `/${first.toUpperCase()}${rest}`,
    `/${url}`, // //creators-portal
    url.replace(/\/(?=[^/]*$)/, '//'), // a doubled slash inside
    `${url}/`, // trailing slash
    `/./${first}${rest}`,
    `/${first}/%2E%2E/${first}${rest}`,
  ];
}

let web: WebUnderAttack;
beforeAll(async () => {
  web = await startWebUnderAttack();
});
afterAll(async () => {
  await web?.close();
});

const reachedWhile = async <T>(work: () => Promise<T>): Promise<[T, Route[]]> => {
  const before = web.reached.length;
  const result = await work();
  return [result, web.reached.slice(before)];
};

describe('every route', () => {
  it('is public by declaration, or guarded for users or for admins', () => {
    const routes = web.routes.filter((route) => route.method !== 'HEAD' && route.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.filter((route) => accessOf(route) === 'undeclared')).toEqual([]);
    expect(routes.some((route) => accessOf(route) === 'user')).toBe(true);
    expect(routes.some((route) => accessOf(route) === 'admin')).toBe(true);
  });

  it('includes the owner’s choices about a video, each for signed-in users', () => {
    const declared = web.routes.filter((route) => VIDEO_CHOICES.includes(`${route.method} ${route.url}`));
    expect(declared.map((route) => `${route.method} ${route.url}`).sort()).toEqual([...VIDEO_CHOICES].sort());
    expect(declared.map(accessOf)).toEqual(VIDEO_CHOICES.map(() => 'user'));
  });
});

describe.each(['anonymous', 'user'] as const)('a guarded route asked for by %s', (who) => {
  it('never runs its handler, whatever the spelling, and answers without a server error', async () => {
    const browser = await web.browser(who);
    const guarded = web.routes.filter((route) =>
      who === 'anonymous' ? ['user', 'admin'].includes(accessOf(route)) : accessOf(route) === 'admin',
    );
    const failures: unknown[] = [];
    for (const route of guarded) {
      if (route.method !== 'GET' && route.method !== 'POST') continue;
      for (const url of variants(concrete(route.url))) {
        const [response, reached] = await reachedWhile(() =>
          route.method === 'GET' ? browser.get(url) : browser.post(url, { name: 'x', description: 'x' }),
        );
        const routed = reached.length > 0 || response.statusCode !== 404;
        // A rate limit that answers first (429) refuses too: the handler never runs.
        const refused =
          response.statusCode === 429 ||
          (who === 'anonymous'
            ? response.statusCode === 302 && String(response.headers.location).startsWith('/auth/log-in?returnTo=')
            : response.statusCode === 403);
        const leakedTo = reached.filter((hit) => hit.url === route.url);
        if (leakedTo.length > 0 || response.statusCode >= 500 || (routed && !refused))
          failures.push({ route: `${route.method} ${route.url}`, url, status: response.statusCode });
      }
    }
    expect(failures).toEqual([]);
  });

  it('does not receive an upload, nor leave its file on disk', async () => {
    const browser = await web.browser(who);
    if (who === 'user') return; // a user may upload; the uploads tests cover what they may store
    for (const url of variants('/creators-portal/videos')) {
      const [response, reached] = await reachedWhile(() =>
        browser.upload(url, { field: 'video', filename: 'clip.mp4', contentType: 'video/mp4', content: MP4_HEAD }),
      );
      expect({ url, reached, server: response.statusCode >= 500 }).toEqual({ url, reached: [], server: false });
    }
    expect(await web.filesInStorage()).toEqual([]);
  });
});

describe('the guarded routes for their own users', () => {
  it.each(['user', 'admin'] as const)('let %s in (canonical spelling)', async (who) => {
    const browser = await web.browser(who);
    const allowed = web.routes.filter(
      (route) =>
        route.method === 'GET' &&
        !route.url.endsWith('/events') && // a server-sent event stream stays open; covered in leaks.test.ts
        (accessOf(route) === 'user' || (who === 'admin' && accessOf(route) === 'admin')),
    );
    for (const route of allowed) {
      const url = concrete(route.url);
      const [response, reached] = await reachedWhile(() => browser.get(url));
      expect({ url, reached: reached.map((hit) => hit.url) }).toEqual({ url, reached: [route.url] });
      const refusedOrFailed = response.statusCode === 302 || response.statusCode === 403 || response.statusCode >= 500;
      expect({ url, refusedOrFailed }).toEqual({ url, refusedOrFailed: false });
    }
  });
});
