import { randomUUID } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@vt/message-store/controls';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findCredentialsByEmail, isConfirmed } from './aggregators/user-credentials/index.js';
import * as videoOperationsAggregator from './aggregators/video-operations/index.js';
import { storeSpeakingVideo } from './components/transcribe/controls.js';
import { readConfig, repositoryRoot } from './config.js';
import { createStorage } from './storage.js';
import type { Piece } from './piece.js';
import { PIECE_NAMES, startSystem, type System } from './system.js';

/**
 * The whole system through a real browser — Debian's Chromium, headless,
 * driven by playwright-core — against the system listening on a real port:
 * register → the e-mail is written → log in → upload a clip in the creators
 * portal → published → named through the form, the operation page updating
 * itself (server-sent events) → watched on the public page, the view counted →
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
  system = await startSystem(readConfig(env), { web: true, workers });
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
    expect(uploaded.status()).toBe(303);
    uploadTraceId = (await uploaded.allHeaders())['x-trace-id'];
    expect(uploadTraceId).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForURL(/\/creators-portal\/videos\/[0-9a-f-]{36}\?uploaded=1$/);
    const videoId = /([0-9a-f-]{36})\?uploaded=1$/.exec(page.url())![1]!;
    // Until the creators' view has the video, the page says the upload was received and reloads itself.
    await page.locator('.badge').waitFor({ timeout: 120_000 });
    await screenshot(page, '07-video-uploaded');

    // 08 Published: reload until the badge says so.
    const started = Date.now();
    await reloadUntil(page, '.badge.published', 'the video published');
    console.log(`browser test: upload to published on the page in ${Date.now() - started} ms`);
    expect(await page.locator('.badge').first().textContent()).toBe('Published');
    await expect
      .poll(() => page.locator('video').evaluate((video) => (video as unknown as { readyState: number }).readyState))
      .toBeGreaterThanOrEqual(1); // HAVE_METADATA
    await screenshot(page, '08-video-published', ['desktop', 'phone']);

    // 09 Name it. The outcome is held back until the operation page has rendered "Working on it…";
    // the page then updates by itself (server-sent events), no reload by us.
    const name = 'Event sourcing in ten minutes';
    await page.getByLabel('Name').fill(name);
    const isOperationPage = (url: URL) => /^\/creators-portal\/operations\/[0-9a-f-]{36}$/.test(url.pathname);
    const listening = page.waitForRequest((request) => /\/operations\/[0-9a-f-]{36}\/events$/.test(request.url()));
    await videoOperations!.stop();
    await page.getByRole('button', { name: 'Save the name' }).click();
    await page.waitForURL(isOperationPage);
    await page.getByText('Working on it').waitFor();
    await listening; // the page's EventSource
    await screenshot(page, '09-operation-pending', ['phone']);
    await startVideoOperations();
    await page.getByText('Your change has been saved.').waitFor({ timeout: 120_000 });
    expect(await page.locator('h1').textContent()).toBe('Done');
    await screenshot(page, '10-operation-done', ['phone']);

    // 11 Back on the video page, with its name (once the creators' view has it).
    await page.getByRole('link', { name: 'Back to the video' }).click();
    await page.waitForURL(`**/creators-portal/videos/${videoId}`);
    await reloadUntil(page, `h1:text-is("${name}")`, 'the new name on the video page');
    await screenshot(page, '11-video-named');

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
