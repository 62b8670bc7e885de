import { randomUUID } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase, testPgliteTemplate } from 'message-db-toolkit/controls';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findCredentialsByEmail, isConfirmed } from './aggregators/user-credentials/index.js';
import * as videoOperationsAggregator from './aggregators/video-operations/index.js';
import { writeVideoEvents } from './aggregators/catalogue/controls.js';
import { findPublishedVideo } from './aggregators/catalogue/index.js';
import { makeStill } from './components/transcode/controls.js';
import { storeSpeakingVideo, storeVideoWithoutAudio } from './components/transcribe/controls.js';
import { VIDEO_NAME_MAX_LENGTH } from './contracts/video-publishing.js';
import { VideoViewed, viewingStreamName } from './contracts/viewing.js';
import { readConfig, repositoryRoot } from './config.js';
import { hashPassword } from './passwords.js';
import { createStorage } from './storage.js';
import type { Piece } from './piece.js';
import { PIECE_NAMES, startSystem, type System } from './system.js';

/**
 * The whole system through a real browser — Debian's Chromium, headless,
 * driven by playwright-core — against the system listening on a real port:
 * register → the e-mail is written → log in → upload a clip in the creators
 * portal → published → named in place on the video's page, the outcome
 * pushed to it (server-sent events) → watched on the public page, the view counted →
 * the admin follows the upload's trace through the whole flow.
 *
 * Each step leaves a screenshot in test-output/screenshots/browser/. Every page the test visits is checked at
 * desktop and phone sizes: axe-core finds no violation of impact serious or critical, and on the phone the page is
 * no wider than the screen and the Home link is there to tap. A form that comes back with errors has its error
 * summary focused.
 */
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(repositoryRoot, 'test-output', 'screenshots', 'browser');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const SLOW = 240_000; // two busy cores: transcoding and transcribing take their time
/** axe-core, evaluated in the page through the DevTools protocol: the page's CSP (no inline scripts) allows it. */
const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_IMPACTS_FAILING = ['serious', 'critical'];

let system: System;
let database: TestDatabase | null = null;
let directory: string;
let baseUrl: string;
let browser: Browser | null = null;
let clip: Buffer;
let context: BrowserContext | null = null;
let page: Page;
/** What went wrong in the browser during the current test: script errors, CSP violations, failed requests. */
let problems: string[] = [];
/** What the pages of the current test fail at: axe's serious and critical violations, the phone layout. */
let accessibility: string[] = [];
/** The trace id of the upload request, for the admin's trace page. */
let uploadTraceId: string | undefined;
/** The video the first test uploads and publishes, for the test of its life after. */
let publishedVideoId: string | undefined;
/**
 * The video-operations aggregator, run by the test rather than the system, so
 * that it can be held back while the operation page first renders: the page
 * then has to learn the outcome by itself, over server-sent events.
 */
let videoOperations: Piece | null = null;
const startVideoOperations = async () => {
  videoOperations = videoOperationsAggregator.build({ store: system.store, viewData: system.viewData });
  await videoOperations.start();
};
const email = `creator-${randomUUID().slice(0, 8)}@example.com`;
const password = 'correct horse battery staple';

beforeAll(async () => {
  await access(CHROMIUM).catch(() => {
    throw new Error(`The browser test needs Chromium at ${CHROMIUM}. Install it: apt-get install chromium`);
  });
  directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-browser-'));
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: directory, ADMIN_EMAILS: email };
  if (process.env.TEST_POSTGRES_URL) {
    database = await createTestDatabase({ install: false });
    env.MESSAGE_STORE_CONNECTION_STRING = database.connectionString!;
    env.DATABASE_URL = database.connectionString!;
  }
  const workers = PIECE_NAMES.filter((piece) => piece !== 'video-operations-aggregator');
  system = await startSystem(readConfig(env), { web: true, workers }, { pgliteTemplate: await testPgliteTemplate() });
  await startVideoOperations();
  await system.web!.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(system.web!.server.address() as AddressInfo).port}`;

  const clips = createStorage(path.join(directory, 'clips'));
  clip = await readFile(clips.pathOf(await storeSpeakingVideo(clips)));

  await rm(SCREENSHOTS, { recursive: true, force: true });
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 120_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  context = await browser.newContext({ baseURL: baseUrl, viewport: DESKTOP });
  context.setDefaultTimeout(60_000);
  context.setDefaultNavigationTimeout(90_000);
  page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Resources that fail to load are reported with their address below; this catches everything else (CSP…).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      problems.push(`console error on ${page.url()}: ${message.text()}`);
  });
  page.on('response', (response) => {
    const { pathname } = new URL(response.url());
    // Every failed load counts, the favicon's too (the pages link an SVG one; /favicon.ico redirects to it).
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.request().method()} ${pathname}`);
  });
}, 180_000);

beforeEach(() => {
  problems = [];
  accessibility = [];
});

/** On failure: a screenshot of where the browser stood, and what it complained about. */
afterEach(async (test) => {
  if (test.task.result?.state !== 'fail') return;
  const name = `failure-${test.task.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 40)}.png`;
  await page?.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true }).catch(() => {});
  if (problems.length > 0) console.log(`browser problems:\n${problems.join('\n')}`);
  if (accessibility.length > 0) console.log(`accessibility problems:\n${accessibility.join('\n')}`);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await videoOperations?.stop();
  await system?.stop();
  await database?.drop();
  if (directory) await rm(directory, { recursive: true, force: true });
}, 120_000);

interface PageCheck {
  results: { violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[] };
  layout: { overflow: number; home: boolean };
}

/** Run in the page, after axe-core: its violations; how much wider than the screen the page is; the Home link shown. */
const PAGE_CHECK = `(async () => {
  const home = document.querySelector('nav[aria-label="Main"] a[href="/"]');
  const box = home?.getBoundingClientRect();
  return {
    results: await window.axe.run({ resultTypes: ['violations'] }),
    layout: {
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
      home: Boolean(home && home.checkVisibility() && box.width > 0 && box.left >= 0 && box.right <= window.innerWidth),
    },
  };
})()`;

/**
 * The page as it stands, at desktop and phone sizes: axe-core's serious and critical violations, and on the phone
 * a page wider than the screen or a Home link out of reach, each added to `accessibility` with the page's address.
 */
async function checkAccessibility(page: Page, name: string) {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    await page.setViewportSize(viewport);
    // A page that reloads itself (meta refresh, the operation page) may go while axe runs: run it again on the next.
    const { results, layout } = await eventually(
      async () => {
        try {
          await page.waitForLoadState('load');
          if (!(await page.evaluate('typeof window.axe === "object"'))) await page.evaluate(AXE_SOURCE);
          return await page.evaluate<PageCheck>(PAGE_CHECK);
        } catch (error) {
          if (/context was destroyed|navigat/i.test(String(error))) return undefined;
          throw error;
        }
      },
      `axe on ${name}`,
      30_000,
    );
    const where = `${name} (${new URL(page.url()).pathname}) at ${size} ${viewport.width}×${viewport.height}`;
    for (const violation of results.violations) {
      if (!AXE_IMPACTS_FAILING.includes(violation.impact ?? '')) continue;
      const targets = violation.nodes.map((node) => node.target.map(String).join(' ')).join(', ');
      accessibility.push(`${violation.impact} ${violation.id} on ${where}: ${targets} (${violation.help})`);
    }
    if (size === 'phone' && layout.overflow > 0)
      accessibility.push(`layout on ${where}: ${layout.overflow}px wider than the screen`);
    if (size === 'phone' && !layout.home) accessibility.push(`layout on ${where}: the Home link is not on the screen`);
  }
  await page.setViewportSize(DESKTOP);
}

/**
 * A step of the test: the page checked for accessibility (`checkAccessibility`), and a full-page screenshot at
 * each size asked for: `NN-step-desktop.png`, `NN-step-phone.png`.
 */
async function screenshot(page: Page, name: string, sizes: ('desktop' | 'phone')[] = ['desktop']) {
  await checkAccessibility(page, name);
  for (const size of sizes) {
    await page.setViewportSize(size === 'phone' ? PHONE : DESKTOP);
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(DESKTOP);
}

async function eventually<T>(find: () => Promise<T | undefined>, what: string, timeoutMs = SLOW): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`Not in time: ${what}`);
    await sleep(250);
  }
}

/** Reloads the page until `selector` is on it: for pages that show what the aggregators have caught up with. */
async function reloadUntil(page: Page, selector: string, what: string) {
  await eventually(async () => {
    if ((await page.locator(selector).count()) > 0) return true;
    await sleep(1_000);
    await page.reload();
    return undefined;
  }, what);
}

describe('in a browser', () => {
  it('registers, logs in, publishes a video, names it and watches it', async () => {
    // 01 The home page, not signed in.
    await page.goto('/');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Learn by watching');
    await screenshot(page, '01-home', ['desktop', 'phone']);

    // 02–03 Register through the form: sent once with a mistake, the page comes back with its error summary focused,
    // whose links lead to the fields.
    await page.getByRole('link', { name: 'Register' }).click();
    await page.waitForURL('**/register');
    await page.getByLabel('E-mail').fill('not an address');
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    const summary = page.getByTestId('error-summary');
    await summary.waitFor();
    expect(await page.evaluate('document.activeElement.dataset.testid'), 'the summary focused').toBe('error-summary');
    expect(await page.getByLabel('E-mail').inputValue()).toBe('not an address');
    await screenshot(page, '02-register-errors', ['phone']);
    await summary.getByRole('link', { name: 'Enter an e-mail address like name@example.com.' }).click();
    expect(await page.evaluate('document.activeElement.id'), 'the field focused').toBe('register-email');
    problems = problems.filter((problem) => problem !== '400 for POST /register');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await screenshot(page, '02-register', ['phone']);
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await page.waitForURL('**/register/registration-complete?userId=*');
    expect(await page.locator('h1').textContent()).toBe('Welcome aboard');
    await screenshot(page, '03-registration-complete', ['phone']);

    // The registration e-mail is written to <DATA_DIRECTORY>/emails by send-email.
    const emailDirectory = path.join(directory, 'emails');
    const registrationEmail = await eventually(async () => {
      for (const file of await readdir(emailDirectory).catch(() => [] as string[])) {
        if (!file.endsWith('.eml')) continue;
        const raw = await readFile(path.join(emailDirectory, file), 'utf8');
        if (raw.includes(`To: ${email}`)) return raw;
      }
      return undefined;
    }, 'the registration e-mail');
    expect(registrationEmail).toMatch(/^Subject: .+/m);

    // 04–05 Log in through the form, once the credentials have reached View Data.
    await eventually(
      async () => ((await findCredentialsByEmail(system.viewData, email)) ? true : undefined),
      'the credentials in View Data',
    );
    await page.getByRole('link', { name: 'Log in' }).first().click();
    await page.waitForURL('**/auth/log-in**');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await screenshot(page, '04-log-in', ['phone']);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/`);
    expect(await page.locator('.who').textContent()).toContain(email);
    await screenshot(page, '05-home-signed-in', ['desktop', 'phone']);

    // The admin role needs a confirmed address: follow the registration e-mail's link and press its button.
    const decoded = registrationEmail.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const confirmPath = /\/auth\/confirm-email\?userId=[0-9a-f-]{36}&token=[A-Za-z0-9_-]+/.exec(decoded)![0];
    await page.goto(`${baseUrl}${confirmPath}`);
    await checkAccessibility(page, '05-confirm-email');
    await page.getByRole('button', { name: 'Confirm my address' }).click();
    await page.getByRole('heading', { name: 'Confirming your address' }).waitFor();
    await checkAccessibility(page, '05-confirming-email');
    const { id: userId } = (await findCredentialsByEmail(system.viewData, email))!;
    await eventually(
      async () => ((await isConfirmed(system.viewData, userId)) ? true : undefined),
      'the confirmed address in View Data',
    );

    // 06–07 Upload a clip in the creators portal; the upload's trace id is kept for the admin.
    await page.getByRole('link', { name: 'Creators' }).click();
    await page.waitForURL('**/creators-portal');
    expect(await page.locator('h1').textContent()).toBe('My videos');
    await page.setInputFiles('input[type="file"][name="video"]', {
      name: 'my first tutorial.mp4',
      mimeType: 'video/mp4',
      buffer: clip,
    });
    await screenshot(page, '06-creators-portal', ['desktop', 'phone']);
    const [uploaded] = await Promise.all([
      page.waitForResponse(
        (response) =>
          response.request().method() === 'POST' && new URL(response.url()).pathname === '/creators-portal/videos',
        { timeout: 120_000 },
      ),
      page.getByRole('button', { name: 'Upload', exact: true }).click(),
    ]);
    expect(uploaded.status()).toBe(201); // sent in the background by upload.js, which then opens the video's page
    uploadTraceId = (await uploaded.allHeaders())['x-trace-id'];
    expect(uploadTraceId).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForURL(/\/creators-portal\/videos\/[0-9a-f-]{36}\?uploaded=1$/);
    const videoId = /([0-9a-f-]{36})\?uploaded=1$/.exec(page.url())![1]!;
    // Until the creators' view has the video, the page says the upload was received, then opens the video's page.
    await page.locator('.badge').waitFor({ timeout: 120_000 });
    await screenshot(page, '07-video-uploaded');

    // 08 Published: reload until the badge says so.
    const started = Date.now();
    await reloadUntil(page, '.badge.published', 'the video published');
    console.log(`browser test: upload to published on the page in ${Date.now() - started} ms`);
    expect(await page.locator('.badge').first().textContent()).toBe('Ready');
    await expect
      .poll(() => page.locator('video').evaluate((video) => (video as unknown as { readyState: number }).readyState))
      .toBeGreaterThanOrEqual(1); // HAVE_METADATA
    await screenshot(page, '08-video-published', ['desktop', 'phone']);

    // 09–11 Name it, in place. The outcome is held back until the page says "Saving…"; it then arrives by
    // itself (server-sent events), the heading too, no reload by us, the text kept in the field.
    const name = 'Event sourcing in ten minutes';
    await page.getByLabel('Name').fill(name);
    await videoOperations!.stop();
    await page.getByRole('button', { name: 'Save the name' }).click();
    await page.getByText('Saving…').waitFor();
    await screenshot(page, '09-naming-saving', ['phone']);
    await startVideoOperations();
    await page.getByText('The name has been saved.').waitFor({ timeout: 120_000 });
    await page.locator(`h1:text-is("${name}")`).waitFor({ timeout: 120_000 });
    expect(await page.getByLabel('Name').inputValue()).toBe(name);
    expect(new URL(page.url()).pathname).toBe(`/creators-portal/videos/${videoId}`); // not reloaded elsewhere
    await screenshot(page, '11-video-named');

    // 11b Named, it can be made public: its owner publishes it, the Publish button arriving live (no reload).
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    await page.getByText('Your change has been saved.').waitFor({ timeout: 120_000 });
    await page.getByRole('link', { name: 'Back to the video' }).click();
    await reloadUntil(page, '.badge.public', 'the video public');
    publishedVideoId = videoId;

    // 12–13 The public watch page: playing it records a viewing (the page's script), the count follows.
    await page.getByRole('link', { name: 'Open the public page' }).click();
    await page.waitForURL(`**/videos/${videoId}`);
    await reloadUntil(page, `h1:text-is("${name}")`, 'the new name on the public page');
    expect(await page.getByTestId('view-count').textContent()).toBe('0');
    await screenshot(page, '12-watch', ['desktop', 'phone']);

    const src = await page.locator('video').getAttribute('src');
    expect(src).toBe(`/media/videos/${videoId}`);
    const range = await page.request.get(src!, { headers: { range: 'bytes=0-1023' } });
    expect(range.status()).toBe(206);
    expect((await range.body()).length).toBe(1024);

    const [viewing] = await Promise.all([
      page.waitForResponse(
        (response) =>
          response.request().method() === 'POST' && new URL(response.url()).pathname === `/record-viewing/${videoId}`,
      ),
      page
        .locator('video')
        .evaluate((video) => (video as unknown as { play(): Promise<void> }).play())
        .catch((error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          throw new Error(
            /NotSupportedError|no supported source/i.test(message)
              ? `This Chromium cannot play the transcoded video (H.264/AAC in MP4): ${message}`
              : message,
          );
        }),
    ]);
    expect(viewing.status()).toBe(204);
    await expect
      .poll(() => page.locator('video').evaluate((video) => (video as unknown as { currentTime: number }).currentTime))
      .toBeGreaterThan(0.5);
    await page.locator('video').evaluate((video) => (video as unknown as { pause(): void }).pause());
    await reloadUntil(page, '[data-testid="view-count"]:text-is("1")', 'the view counted on the watch page');
    expect(await page.locator('.watch .muted').first().textContent()).toMatch(/1\s+view\b/);
    await screenshot(page, '13-watched', ['desktop', 'phone']);

    // 14 The home page lists the video and counts the viewing.
    await page.goto('/');
    await reloadUntil(page, `.video-card a[href="/videos/${videoId}"]`, 'the video on the home page');
    expect(await page.getByTestId('videos-watched').textContent()).toBe('1');
    await screenshot(page, '14-home-with-video', ['desktop', 'phone']);

    // 14b The captions, from the words the recognizer heard: the player loads its track, and a line of the
    // timestamped transcript plays the video from its time, in place (transcript.js), marking the line.
    await page.goto(`/videos/${videoId}`);
    const video = page.locator('video');
    expect(await video.getAttribute('aria-label')).toBe(name);
    await expect
      .poll(() =>
        video.evaluate((element) => {
          const tracks = (element as unknown as { textTracks: ArrayLike<{ cues: ArrayLike<unknown> | null }> })
            .textTracks;
          return tracks.length > 0 ? (tracks[0]!.cues?.length ?? 0) : 0;
        }),
      )
      .toBeGreaterThan(0);
    const line = page.locator('.transcript-lines a').last();
    const seek = Number(await line.getAttribute('data-seek'));
    const href = await line.getAttribute('href');
    expect(href).toBe(`/videos/${videoId}?t=${Math.floor(seek)}`);
    await line.click();
    await expect
      .poll(() => video.evaluate((element) => (element as unknown as { currentTime: number }).currentTime))
      .toBeGreaterThanOrEqual(seek - 0.05);
    expect(new URL(page.url()).search).toBe(`?t=${Math.floor(seek)}`);
    await expect.poll(() => line.getAttribute('aria-current')).toBe('true');
    await video.evaluate((element) => (element as unknown as { pause(): void }).pause());
    await screenshot(page, '14b-watch-captions', ['desktop', 'phone']);

    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 600_000);

  it('admin: the trace of the upload shows the whole correlated flow', async () => {
    expect(uploadTraceId, 'the upload of the test before').toBeDefined();
    // 15 The admin (this user is in ADMIN_EMAILS) sees the upload's whole correlated flow.
    // Until the admin's message index has the trace, the page says so (404, "…(yet)"): reload until it is there.
    const traceUrl = `/admin/traces/${uploadTraceId}`;
    await page.goto(traceUrl);
    await reloadUntil(page, 'text=VideoPublished', 'VideoPublished on the admin trace page');
    problems = problems.filter((problem) => problem !== `404 for GET ${traceUrl}`);
    expect((await page.reload())?.status(), `GET ${traceUrl}`).toBe(200);
    const tracePage = await page.locator('main').innerText();
    expect(tracePage).toContain('PublishVideo');
    expect(tracePage).toContain('VideoPublished');
    await screenshot(page, '15-admin-trace', ['desktop', 'phone']);

    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 300_000);
});

/** An element's text as read, on one line. */
const oneLine = async (locator: Locator) => (await locator.innerText()).replace(/\s+/g, ' ').trim();

describe('in a browser, as a learner', () => {
  it('searches, opens a result, sees its creator, date and duration, the count going up live, and what is next', async () => {
    // Three videos published through their events (the system's own aggregators take them in), playing one real
    // H.264 clip and its poster from storage.
    const storage = createStorage(path.join(directory, 'storage'));
    const transcodedUri = await storeVideoWithoutAudio(storage);
    const posterUri = await makeStill(storage, `posters/learners-${randomUUID()}.jpg`);
    const word = `zq${randomUUID()
      .replace(/[^a-f]/g, '')
      .slice(0, 8)}`;
    const videos = [
      { name: 'Projections in practice', description: `Folding ${word} events into state.` },
      { name: 'Consumer groups', description: 'Scaling out the components.' },
      { name: 'Idempotent handlers', description: 'Twice is the same as once.' },
    ];
    const written: Awaited<ReturnType<typeof writeVideoEvents>>[] = [];
    for (const video of videos)
      written.push(
        await writeVideoEvents(system.store, {
          ...video,
          transcription: 'here we are projecting the events one by one',
          durationSeconds: 1, // the clip's
          transcodedUri,
          posterUri,
        }),
      );
    const [projections] = written;
    await eventually(
      async () =>
        (await Promise.all(written.map(({ videoId }) => findPublishedVideo(system.viewData, videoId)))).every(
          (found) => found?.name,
        ) || undefined,
      'the videos in the catalogue',
    );

    // 21 Search from the header's box: "projection" finds "Projections" and "projecting" (English stems).
    await page.goto('/');
    await page.getByRole('searchbox', { name: 'Search tutorials' }).fill(`${word} projection`);
    await page.getByRole('search', { name: 'Site' }).getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/\/search\?q=/);
    const result = page.locator(`.video-card[data-video-id="${projections!.videoId}"]`);
    await result.waitFor();
    expect(await page.locator('.search-results .video-card').count()).toBe(1);
    expect(await result.locator('mark').allTextContents()).toContain(word);
    expect(await oneLine(result.locator('.video-facts'))).toMatch(
      /^Creator \w{6} · \d{1,2} \w{3} \d{4} · (Duration )?0:01$/,
    );
    await screenshot(page, '21-search-results', ['desktop', 'phone']);

    // 22 The result's watch page: creator, publishing date and duration, the count, the videos up next.
    await result.getByRole('link', { name: 'Projections in practice' }).click();
    await page.waitForURL(`**/videos/${projections!.videoId}`);
    const facts = page.getByTestId('video-facts');
    expect(await oneLine(facts)).toMatch(/^Creator \w{6} · \d{1,2} \w{3} \d{4} · (Duration )?0:01 · 0 views$/);
    expect(await facts.locator('time').nth(1).getAttribute('datetime')).toBe('PT1S');
    const upNext = page.getByTestId('next-videos');
    expect(await upNext.locator('.video-card').count()).toBeGreaterThanOrEqual(2);
    expect(await upNext.locator(`.video-card[data-video-id="${projections!.videoId}"]`).count()).toBe(0);
    await screenshot(page, '22-watch-facts-and-up-next', ['desktop', 'phone']);

    // 23 Someone else watches it: the count on this page goes up by itself, without a reload.
    await page.evaluate('window.notReloaded = true');
    await system.store.write(
      viewingStreamName(projections!.videoId),
      VideoViewed.create({ userId: 'anonymous', videoId: projections!.videoId }),
    );
    await expect.poll(() => page.getByTestId('view-count').textContent(), { timeout: 60_000 }).toBe('1');
    expect(await oneLine(facts)).toMatch(/· 1 view$/);
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await screenshot(page, '23-watch-count-live');

    // 24 What is next is one click away; and the whole catalogue, page by page.
    const next = upNext.locator('.video-card-link').first();
    const nextHref = await next.getAttribute('href');
    await next.click();
    await page.waitForURL(`**${nextHref}`);
    await page.getByTestId('video-facts').waitFor();
    await page.getByRole('link', { name: 'Tutorials', exact: true }).click();
    await page.waitForURL('**/videos');
    expect(await page.locator('h1').textContent()).toBe('All tutorials');
    expect(await page.locator('.video-card').count()).toBeGreaterThanOrEqual(3);
    await screenshot(page, '24-catalogue', ['desktop', 'phone']);

    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 300_000);
});

describe('in a browser, a video’s life', () => {
  it('public → unlisted, gone from the catalogue → published again → deleted after a confirmation', async () => {
    expect(publishedVideoId, 'the video the first test published').toBeDefined();
    const videoId = publishedVideoId!;
    const done = async (what: string) => {
      await page.getByText('Your change has been saved.').waitFor({ timeout: 120_000 });
      expect(await page.locator('h1').textContent(), what).toBe('Done');
    };

    // 16 Public: on the home page. Unlisted by its owner, it goes from there and from its public address.
    await page.goto('/');
    await reloadUntil(page, `.video-card a[href="/videos/${videoId}"]`, 'the video on the home page');
    await page.goto(`/creators-portal/videos/${videoId}`);
    expect(await page.getByTestId('visibility').textContent()).toContain('Public');
    await screenshot(page, '16-video-public', ['desktop', 'phone']);
    await page.getByRole('button', { name: 'Unlist' }).click();
    await done('unlisted');
    await page.getByRole('link', { name: 'Back to the video' }).click();
    await reloadUntil(page, '.badge.ready', 'the video no longer public');
    await screenshot(page, '17-video-unlisted', ['desktop', 'phone']);
    await page.goto('/');
    await reloadUntil(page, `main:not(:has(a[href="/videos/${videoId}"]))`, 'the video gone from the home page');
    expect((await page.goto(`/videos/${videoId}`))?.status()).toBe(404);
    problems = problems.filter((problem) => problem !== `404 for GET /videos/${videoId}`);

    // 18 Published again, then deleted: a page asks first; "Keep it" keeps it.
    await page.goto(`/creators-portal/videos/${videoId}`);
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    await done('published again');
    await page.goto(`/creators-portal/videos/${videoId}`);
    await page.getByRole('link', { name: 'Delete…' }).click();
    await page.waitForURL(`**/creators-portal/videos/${videoId}/delete`);
    await screenshot(page, '18-delete-confirmation', ['desktop', 'phone']);
    await page.getByRole('link', { name: 'Keep it' }).click();
    await page.waitForURL(`**/creators-portal/videos/${videoId}`);
    await page.getByRole('link', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete the video' }).click();
    await done('deleted');
    await screenshot(page, '19-video-deleted', ['phone']);

    // 20 Gone: from my videos, from the home page, and its public page says so (410), its media not found.
    await page.goto('/creators-portal');
    await reloadUntil(page, `main:not(:has([data-video-id="${videoId}"]))`, 'the video gone from my videos');
    await screenshot(page, '20-my-videos-after-delete');
    await page.goto('/');
    await reloadUntil(page, `main:not(:has(a[href="/videos/${videoId}"]))`, 'the video gone from the home page');
    expect((await page.goto(`/videos/${videoId}`))?.status()).toBe(410);
    expect(await page.locator('h1').textContent()).toBe('This video has been deleted');
    await screenshot(page, '21-watch-deleted', ['desktop', 'phone']);
    const media = await page.request.get(`/media/videos/${videoId}`);
    expect(media.status()).toBe(404);
    problems = problems.filter(
      (problem) => ![`404 for GET /videos/${videoId}`, `410 for GET /videos/${videoId}`].includes(problem),
    );

    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 300_000);
});

describe('in a browser: the creators portal, live', () => {
  const liveEmail = `live-${randomUUID().slice(0, 8)}@example.com`;
  let liveUserId: string;

  /** A video of the live user's in the creators' View Data, as the aggregator makes it when publishing starts. */
  async function processingVideo() {
    const videoId = randomUUID();
    await system.viewData.query(
      `INSERT INTO creators_portal_videos (id, owner_id, status, source_uri, uploaded_at)
       VALUES ($1, $2, 'processing', $3, now())`,
      [videoId, liveUserId, `storage:uploads/${videoId}.mp4`],
    );
    return videoId;
  }
  /** Drops a file onto the upload form's zone, as one dragged from the desktop: a DataTransfer holding it. */
  const dropOnTheZone = (name: string, content: Buffer) =>
    page.evaluate(`(() => {
      const bytes = Uint8Array.from(atob(${JSON.stringify(content.toString('base64'))}), (char) => char.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], ${JSON.stringify(name)}, { type: 'video/mp4' }));
      const zone = document.querySelector('[data-drop-zone]');
      for (const type of ['dragenter', 'dragover', 'drop'])
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }));
    })()`);
  /** Set in the page: still there after a change, the page was not reloaded. */
  const markPage = () => page.evaluate('window.notReloaded = true');
  const stillThePage = () => page.evaluate('window.notReloaded === true');

  beforeAll(async () => {
    liveUserId = randomUUID();
    await system.viewData.query(
      'INSERT INTO user_credentials (id, email, password_hash, email_confirmed) VALUES ($1, $2, $3, true)',
      [liveUserId, liveEmail, await hashPassword(password)],
    );
    await context!.clearCookies();
    await page.goto('/auth/log-in');
    await page.getByLabel('E-mail').fill(liveEmail);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.waitForURL(`${baseUrl}/`);
  }, 120_000);

  it('keeps what is typed while the status changes in place', async () => {
    const videoId = await processingVideo();
    await page.goto(`/creators-portal/videos/${videoId}`);
    expect(await page.locator('.badge').textContent()).toBe('Processing');
    await markPage();
    const typing = 'A name half-typ';
    await page.getByLabel('Name').fill(typing);
    await page.getByLabel('Description').fill('Still writing this…');
    await screenshot(page, 'live-01-typing-while-processing', ['desktop', 'phone']);
    await page.getByLabel('Name').focus();
    await system.viewData.query(
      `UPDATE creators_portal_videos SET status = 'failed', failure_reason = $2 WHERE id = $1`,
      [videoId, 'transcoding failed: not a video ffmpeg can read'],
    );
    await page.locator('.badge.failed').waitFor({ timeout: 30_000 });
    await page.getByText('We could not read this file as a video.').waitFor(); // the owner's sentence, not ffmpeg's
    expect(await page.getByLabel('Name').inputValue()).toBe(typing);
    expect(await page.getByLabel('Description').inputValue()).toBe('Still writing this…');
    expect(await page.evaluate('document.activeElement.id'), 'the focus stays in the field').toBe('video-name');
    expect(await stillThePage()).toBe(true);
    await screenshot(page, 'live-02-status-changed-text-kept', ['desktop', 'phone']);
    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 120_000);

  it('names in place: a rejection as a sentence with the text kept, then the name saved', async () => {
    const videoId = await processingVideo();
    await page.goto(`/creators-portal/videos/${videoId}`);
    await markPage();
    expect(await page.getByLabel('Name').getAttribute('maxlength')).toBe(String(VIDEO_NAME_MAX_LENGTH));
    // Blank: the component says no; the page says why, beside the field.
    await page.getByLabel('Name').fill('   ');
    await page.getByRole('button', { name: 'Save the name' }).click();
    const message = page.locator('#video-name-message');
    await expect.poll(() => message.textContent(), { timeout: 60_000 }).toBe('Name is blank.');
    expect(await message.getAttribute('class')).toBe('field-error');
    expect(await page.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByLabel('Name').inputValue()).toBe('   ');
    await screenshot(page, 'live-03-naming-rejected', ['desktop', 'phone']);

    const name = 'Projections, <live>';
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Save the name' }).click();
    await expect.poll(() => message.textContent(), { timeout: 60_000 }).toBe('The name has been saved.');
    expect(await page.getByLabel('Name').getAttribute('aria-invalid')).toBeNull();
    await page.locator('h1', { hasText: name }).waitFor({ timeout: 60_000 });
    await expect.poll(() => page.title()).toContain(name);
    expect(await page.getByLabel('Name').inputValue()).toBe(name);
    expect(await stillThePage()).toBe(true);
    await screenshot(page, 'live-04-named-in-place', ['desktop', 'phone']);
    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 120_000);

  it('uploads a dropped file with its progress shown, then follows the video to published in place', async () => {
    await page.goto('/creators-portal');
    // Slow the upload down (the DevTools protocol) so that its progress can be seen: about ten seconds.
    const devtools = await context!.newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: Math.ceil(clip.length / 10),
    });
    await dropOnTheZone('dropped tutorial.mp4', clip);
    await page.getByText('Chosen: dropped tutorial.mp4').waitFor();
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const progress = page.getByRole('progressbar', { name: 'Uploading your video' });
    await progress.waitFor();
    await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(Number(await progress.getAttribute('value'))).toBeLessThan(100);
    expect(await page.locator('#upload-progress-text').textContent()).toMatch(
      /^\d+% — [\d.]+ (KB|MB) of [\d.]+ (KB|MB)$/,
    );
    await page.screenshot({ path: path.join(SCREENSHOTS, 'live-05-upload-progress-desktop.png'), fullPage: true });
    await page.waitForURL(/\/creators-portal\/videos\/[0-9a-f-]{36}/, { timeout: 120_000 });
    await devtools.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 0,
      downloadThroughput: -1,
      uploadThroughput: -1,
    });
    // The video's page: at once if View Data has the video already, else "Upload received" opens it by itself.
    await page.locator('.badge').waitFor({ timeout: 120_000 });
    await markPage();
    const typing = 'Named while it transcodes';
    await page.getByLabel('Name').fill(typing);
    await page.locator('.badge.published').waitFor({ timeout: SLOW });
    await page.locator('video.player').waitFor();
    expect(await page.getByLabel('Name').inputValue()).toBe(typing);
    expect(await stillThePage()).toBe(true);
    await screenshot(page, 'live-06-published-in-place', ['desktop', 'phone']);
    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 600_000);

  it('shows a refused upload’s reason as a sentence beside the field', async () => {
    await page.goto('/creators-portal');
    await dropOnTheZone('notes.mp4', Buffer.from('These are my notes, not a video.'));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const error = page.locator('[data-upload-error]');
    await error.waitFor();
    expect(await error.textContent()).toBe('That file is not a video we can read (MP4, MOV, WebM, MKV, AVI…).');
    expect(await page.getByLabel('Upload a video').getAttribute('aria-invalid')).toBe('true');
    problems = problems.filter((problem) => problem !== '415 for POST /creators-portal/videos');
    await screenshot(page, 'live-07-upload-refused', ['desktop', 'phone']);
    expect(problems).toEqual([]);
    expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
  }, 120_000);

  // Last: the init script stays with the page.
  it('without EventSource, asks in the background instead: the status and the outcome arrive all the same', async () => {
    await page.addInitScript('delete window.EventSource');
    const videoId = await processingVideo();
    const asked = page.waitForRequest((request) => request.url().includes(`/creators-portal/videos/${videoId}/status`));
    await page.goto(`/creators-portal/videos/${videoId}`);
    expect(await page.evaluate('"EventSource" in window')).toBe(false);
    await markPage();
    await asked;
    const name = 'Named without EventSource';
    await page.getByLabel('Name').fill(name);
    await page.getByRole('button', { name: 'Save the name' }).click();
    await expect
      .poll(() => page.locator('#video-name-message').textContent(), { timeout: 60_000 })
      .toBe('The name has been saved.');
    await system.viewData.query(
      `UPDATE creators_portal_videos SET status = 'failed', failure_reason = $2 WHERE id = $1`,
      [videoId, 'We could not read this video.'],
    );
    await page.locator('.badge.failed').waitFor({ timeout: 30_000 });
    await page.locator('h1', { hasText: name }).waitFor({ timeout: 60_000 });
    expect(await page.getByLabel('Name').inputValue()).toBe(name);
    expect(await stillThePage()).toBe(true);
    expect(problems).toEqual([]);
  }, 120_000);
});

describe('in a browser: the account page', () => {
  it('lists the sessions, logs out everywhere, and deletes the account', async () => {
    const owner = `account-${randomUUID().slice(0, 8)}@example.com`;
    // A second browser, logged in as the same user: it is listed, and logged out everywhere.
    const other = await browser!.newContext({
      baseURL: baseUrl,
      viewport: PHONE,
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    });
    const phone = await other.newPage();
    const logIn = async (at: Page) => {
      await at.goto('/auth/log-in');
      await at.getByLabel('E-mail').fill(owner);
      await at.getByLabel('Password').fill(password);
      await at.getByRole('button', { name: 'Log in', exact: true }).click();
      await at.waitForURL(`${baseUrl}/`);
    };
    try {
      // 20 Registering with a name (optional).
      // (The tests before leave this browser signed in as the creator.)
      await page.goto('/');
      const logOut = page.getByRole('button', { name: 'Log out', exact: true });
      if ((await logOut.count()) > 0) await logOut.click();
      await page.goto('/register');
      await page.getByLabel('Your name (optional)').fill('Ada Lovelace');
      await page.getByLabel('E-mail').fill(owner);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Register', exact: true }).click();
      await page.waitForURL('**/register/registration-complete**');
      await eventually(
        async () => ((await findCredentialsByEmail(system.viewData, owner)) ? true : undefined),
        'the credentials in View Data',
      );
      await logIn(page);
      await logIn(phone);

      // 21 The account page: the address unconfirmed, both sessions with their devices.
      await page.goto('/account');
      await reloadUntil(page, '[data-testid="session"]:has-text("Safari on iOS")', 'the other session listed');
      expect(await page.getByTestId('address-unconfirmed').textContent()).toBe('Not confirmed yet');
      expect(await page.getByTestId('this-browser').count()).toBe(1);
      await screenshot(page, '21-account', ['desktop', 'phone']);

      // 22 Log out everywhere: this browser is sent to log in, the other one is signed out at its next request.
      await page.getByRole('button', { name: 'Log out everywhere' }).click();
      await page.waitForURL('**/auth/log-in?notice=logged-out-everywhere');
      expect(await page.getByTestId('log-in-notice').textContent()).toContain('logged out everywhere');
      await screenshot(page, '22-logged-out-everywhere', ['phone']);
      await phone.reload();
      expect(await phone.locator('.who').count()).toBe(0);

      // 23 Deleting: without the box ticked the browser asks for it; then the account is gone.
      await logIn(page);
      await page.goto('/account');
      await page.getByLabel('Your password', { exact: true }).fill(password);
      await page.getByLabel('I understand that deleting my account cannot be undone.').check();
      await screenshot(page, '23-delete-account', ['desktop']);
      await page.getByRole('button', { name: 'Delete my account' }).click();
      await page.getByTestId('account-deleted').waitFor();
      await screenshot(page, '24-account-deleted', ['desktop', 'phone']);
      expect(await page.locator('.who').count()).toBe(0);

      await page.goto('/auth/log-in');
      await page.getByLabel('E-mail').fill(owner);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Log in', exact: true }).click();
      await page.getByTestId('error-summary').waitFor();
      problems = problems.filter((problem) => problem !== '401 for POST /auth/log-in');
      expect(problems).toEqual([]);
      expect(accessibility, 'serious and critical axe violations, phone layout').toEqual([]);
    } finally {
      await other.close();
    }
  }, 300_000);
});

describe('in a browser: creators’ names', () => {
  it('shows the name a creator registered with on the watch page and its cards, escaped and isolated', async () => {
    // A name in Arabic, with markup and an override that is never closed: shown as text, the facts after it intact.
    const displayName = 'مريم <b>Lovelace</b> \u202eevil';
    const email = `named-${randomUUID().slice(0, 8)}@example.com`;
    await page.goto('/');
    const logOut = page.getByRole('button', { name: 'Log out', exact: true });
    if ((await logOut.count()) > 0) await logOut.click();
    await page.goto('/register');
    await page.getByLabel('Your name (optional)').fill(displayName);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Register', exact: true }).click();
    await page.waitForURL('**/register/registration-complete**');
    const { id: ownerId } = await eventually(
      async () => (await findCredentialsByEmail(system.viewData, email)) ?? undefined,
      'the registration in View Data',
    );
    const storage = createStorage(path.join(directory, 'storage'));
    const { videoId } = await writeVideoEvents(system.store, {
      ownerId,
      name: 'Named by its creator',
      durationSeconds: 1,
      transcodedUri: await storeVideoWithoutAudio(storage),
      posterUri: await makeStill(storage, `posters/named-${randomUUID()}.jpg`),
    });
    await eventually(
      async () => (await findPublishedVideo(system.viewData, videoId))?.ownerDisplayName ?? undefined,
      'the video in the catalogue, with its creator’s name',
    );

    await page.goto(`/videos/${videoId}`);
    const facts = page.getByTestId('video-facts');
    expect(await facts.locator('.creator').textContent()).toBe('مريم <b>Lovelace</b> evil');
    expect(await facts.locator('.creator bdi').count()).toBe(1);
    expect(await oneLine(facts)).toMatch(/ · \d{1,2} \w{3} \d{4} · (Duration )?0:01 · 0 views$/);
    await screenshot(page, '25-watch-creator-named', ['desktop', 'phone']);
    await page.goto('/videos');
    const card = page.locator(`.video-card[data-video-id="${videoId}"]`);
    expect(await card.locator('.creator').textContent()).toBe('مريم <b>Lovelace</b> evil');
    expect(await page.content()).not.toContain(email);
    await screenshot(page, '25-catalogue-creator-named', ['phone']);
  }, 300_000);
});
