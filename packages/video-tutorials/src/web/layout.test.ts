import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticateApp } from '../app/authenticate/index.js';
import { createHomeApp } from '../app/home/index.js';
import { createPlaybackTokens } from '../app/record-viewings/index.js';
import { createRegisterUsersApp } from '../app/register-users/index.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { defaultDescription, summarize } from './layout.js';
import { buildWebServer } from './server.js';

/** What every page's head has: a meta description (the page's own, or the site's) and the favicon. */
const SECRET = 'a-test-cookie-secret-of-at-least-32-chars';
const APP_NAME = 'Tutorials "<&>"';

let test: TestDatabase & { store: MessageStore };
let app: FastifyInstance;
beforeAll(async () => {
  test = await createSystemTestDatabase();
  const { store, db: viewData } = test;
  app = await buildWebServer({
    appName: APP_NAME,
    cookieSecret: SECRET,
    secureCookies: false,
    applications: [
      createHomeApp({ viewData, playbackTokens: createPlaybackTokens(SECRET) }),
      createRegisterUsersApp({ store, viewData }),
      createAuthenticateApp({ store, viewData }),
    ],
  });
});
afterAll(async () => {
  await app?.close();
  await test?.drop();
});

const headOf = (body: string) => body.slice(0, body.indexOf('</head>'));
const descriptionsOf = (body: string) =>
  [...headOf(body).matchAll(/<meta name="description" content="([^"]*)" \/>/g)].map((match) => match[1]);
const ESCAPED_APP_NAME = 'Tutorials &quot;&lt;&amp;&gt;&quot;';

describe('every page’s head', () => {
  it.each([
    ['the home page', 'GET', '/', 200, 'Learn by watching: short video tutorials, and how many views they have had.'],
    ['the registration page', 'GET', '/register', 200, 'Create an account to upload your own video tutorials.'],
    ['the log-in page', 'GET', '/auth/log-in', 200, 'Log in to upload and manage your video tutorials.'],
    ['a page not found', 'GET', '/no/such/page', 404, null],
    ['an error page', 'POST', '/auth/log-out', 403, null],
  ])('%s has one meta description and links the favicon', async (_name, method, url, status, description) => {
    const response = await app.inject({ method: method as 'GET' | 'POST', url });
    expect(response.statusCode).toBe(status);
    expect(descriptionsOf(response.body)).toEqual([
      description ?? `${ESCAPED_APP_NAME}: short video tutorials. Watch and learn, or upload your own.`,
    ]);
    expect(headOf(response.body)).toContain('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />');
  });
});

describe('the favicon', () => {
  it('is an SVG among the site’s assets, with nothing the CSP would refuse', async () => {
    const icon = await app.inject({ url: '/assets/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(icon.body).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(icon.body).not.toMatch(/<script|<style|style=|href="http/);
  });

  it('is where /favicon.ico, which browsers ask for by themselves, sends them', async () => {
    const response = await app.inject({ url: '/favicon.ico' });
    expect(response.statusCode).toBe(301);
    expect(response.headers.location).toBe('/assets/favicon.svg');
  });
});

describe('summarize', () => {
  it('keeps a short text, whitespace collapsed', () => {
    expect(summarize('  A short\n\ttext.  ')).toBe('A short text.');
    expect(summarize('')).toBe('');
  });

  it('cuts a long one between words, with an ellipsis, within the limit', () => {
    const summary = summarize(`${'lorem ipsum '.repeat(30)}`, 40);
    expect(summary).toBe('lorem ipsum lorem ipsum lorem ipsum…');
    expect(summary.length).toBeLessThanOrEqual(40);
    expect(summarize('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });

  it('never cuts a character in half', () => {
    const summary = summarize('😀'.repeat(20), 10);
    expect(Array.from(summary)).toHaveLength(10);
    expect(summary).toBe(`${'😀'.repeat(9)}…`);
  });

  it('the site’s default names the site', () => {
    expect(defaultDescription('Video Tutorials')).toBe(
      'Video Tutorials: short video tutorials. Watch and learn, or upload your own.',
    );
  });
});

describe('the CSRF cookie', () => {
  it('is set by a page with a form, and not by a page without one', async () => {
    const csrfCookieOf = (response: Awaited<ReturnType<FastifyInstance['inject']>>) =>
      response.cookies.find((cookie) => cookie.name === '_csrf');
    const logIn = await app.inject({ url: '/auth/log-in' });
    expect(logIn.body).toContain('name="_csrf"');
    expect(csrfCookieOf(logIn)).toBeDefined();
    const notFound = await app.inject({ url: '/no/such/page' });
    expect(notFound.body).not.toContain('name="_csrf"');
    expect(csrfCookieOf(notFound)).toBeUndefined();
  });
});
