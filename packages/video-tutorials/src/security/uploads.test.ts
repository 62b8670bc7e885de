import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { eventually } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as videoPublishing from '../components/video-publishing/index.js';
import { videoPublishingStreamName, VideoPublished, VideoPublishingFailed } from '../contracts/video-publishing.js';
import { elementWithId, errorSummaryOf } from '../test-support/page-checks.js';
import { MP4_HEAD, startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * What a user can make us store: a quota of bytes over all their videos' files, a number of uploads in
 * flight, and no files left behind by uploads that were refused, broken off or abandoned; sources go
 * once the video is published or failed, unless KEEP_UPLOADED_SOURCES keeps them.
 */
let web: WebUnderAttack;
let storageDirectory: string;
const MB = 1024 * 1024;

beforeAll(async () => {
  storageDirectory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-uploads-'));
  // What a process that stopped mid-upload leaves: one partial file an hour old, one being written now.
  await mkdir(path.join(storageDirectory, 'uploads'), { recursive: true });
  const old = path.join(storageDirectory, 'uploads', '.abandoned.partial');
  await writeFile(old, 'half a video');
  const anHourAgo = new Date(Date.now() - 2 * 3600_000);
  await utimes(old, anHourAgo, anHourAgo);
  await writeFile(path.join(storageDirectory, 'uploads', '.receiving.partial'), 'a video arriving');
  web = await startWebUnderAttack({
    STORAGE_DIRECTORY: storageDirectory,
    UPLOAD_QUOTA_MEGABYTES: '1',
    UPLOADS_IN_FLIGHT: '1',
  });
});
afterAll(async () => {
  await web?.close();
  await rm(storageDirectory, { recursive: true, force: true });
});

const video = (bytes: number) => Buffer.concat([MP4_HEAD, Buffer.alloc(Math.max(0, bytes - MP4_HEAD.length), 2)]);
const upload = (browser: Awaited<ReturnType<WebUnderAttack['browser']>>, content: Buffer) =>
  browser.upload('/creators-portal/videos', { field: 'video', filename: 'v.mp4', contentType: 'video/mp4', content });
const uploadsOnDisk = async () => (await web.filesInStorage()).filter((file) => file.startsWith('uploads'));

describe('abandoned uploads', () => {
  it('are removed when the portal starts; one still being written is not', () => {
    expect(existsSync(path.join(storageDirectory, 'uploads', '.abandoned.partial'))).toBe(false);
    expect(existsSync(path.join(storageDirectory, 'uploads', '.receiving.partial'))).toBe(true);
  });
});

describe('the upload quota', () => {
  it('refuses an upload that would take a user past it, and keeps nothing of it', async () => {
    const browser = await web.browser('user');
    const before = await uploadsOnDisk();
    const response = await upload(browser, video(1.5 * MB));
    expect(response.statusCode).toBe(413);
    expect(response.body).toContain('of your 1 MB');
    // In the error summary, as an error of the form: it is not the file chosen that is wrong.
    expect(errorSummaryOf(response.body)?.errors).toEqual([
      { message: 'Your videos already take 0 MB of your 1 MB. Remove some before uploading more.' },
    ]);
    expect(await uploadsOnDisk()).toEqual(before);
  });

  it('counts every file of the user’s videos', async () => {
    const browser = await web.browser('user');
    await web.addVideo(browser.user!.userId, { bytes: 0.6 * MB }); // source and transcoded: 1.2 MB
    const response = await upload(browser, video(4096));
    expect(response.statusCode).toBe(413);
    expect(response.body).toContain('Remove some before uploading more');
  });

  it('lets an upload within it through', async () => {
    const browser = await web.browser('user');
    const response = await upload(browser, video(200 * 1024));
    expect(response.statusCode).toBe(303);
  });
});

describe('a file that is not a video', () => {
  it('comes back in an error summary that takes the focus and links to the file field', async () => {
    const browser = await web.browser('user');
    const response = await upload(browser, Buffer.from('%PDF-1.7 this is a document, not a video'));
    expect(response.statusCode).toBe(415);
    const summary = errorSummaryOf(response.body);
    expect(summary?.attributes).toMatch(/tabindex="-1" autofocus/);
    expect(summary?.errors).toEqual([
      { message: 'That file is not a video we can read (MP4, MOV, WebM, MKV, AVI…).', href: '#upload-video' },
    ]);
    expect(elementWithId(response.body, 'upload-video')).toMatch(
      /^<input[^>]*type="file"[^>]*aria-invalid="true" aria-describedby="upload-video-error upload-video-hint"/,
    );
  });
});

describe('an upload sent in the background (upload.js)', () => {
  const uploadInBackground = (browser: Awaited<ReturnType<WebUnderAttack['browser']>>, content: Buffer) => {
    const boundary = '----upload-js';
    return web.app.inject({
      method: 'POST',
      url: `/creators-portal/videos?_csrf=${encodeURIComponent(browser.csrfToken)}`,
      headers: {
        cookie: browser.cookieHeader(),
        accept: 'application/json',
        'content-type': `multipart/form-data; boundary=${boundary}`,
      },
      payload: Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
        ),
        content,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
  };

  // Each from an address of its own: log-ins are limited per address.
  it('is answered with where to go, or with the refusal as a sentence', async () => {
    const browser = await web.browser('user', '10.1.0.1');
    await browser.get('/creators-portal');
    const notAVideo = await uploadInBackground(browser, Buffer.from('%PDF-1.7 not a video'));
    expect(notAVideo.statusCode).toBe(415);
    expect(JSON.parse(notAVideo.body)).toEqual({
      error: 'Not uploaded',
      message: 'That file is not a video we can read (MP4, MOV, WebM, MKV, AVI…).',
    });
    const overQuota = await uploadInBackground(browser, video(1.5 * MB));
    expect(overQuota.statusCode).toBe(413);
    expect((JSON.parse(overQuota.body) as { message: string }).message).toBe(
      'Your videos already take 0 MB of your 1 MB. Remove some before uploading more.',
    );
    const accepted = await uploadInBackground(browser, video(4096));
    expect(accepted.statusCode).toBe(201);
    const { location } = JSON.parse(accepted.body) as { location: string };
    expect(location).toMatch(/^\/creators-portal\/videos\/[0-9a-f-]{36}\?uploaded=1$/);
    expect(accepted.headers.location).toBe(location);
  });

  it('has the form say what the script needs: the limit, and its sentence', async () => {
    const browser = await web.browser('user', '10.1.0.2');
    const page = await browser.get('/creators-portal');
    expect(page.body).toContain(`data-max-bytes="${web.config.maxUploadBytes}"`);
    expect(page.body).toMatch(/data-too-large="That file is larger than the limit of \d+ MB\."/);
    expect(page.body).toContain('<progress id="upload-progress" max="100" value="0"');
    expect(page.body).toContain('<label for="upload-progress">Uploading your video</label>');
    expect(page.body).toContain('<script src="/assets/upload.js" defer></script>');
  });
});

describe('the pages of a video being prepared', () => {
  it('follow its status in the background: no meta refresh but for no-script on the page with no form', async () => {
    const browser = await web.browser('user');
    const uploaded = await upload(browser, video(4096));
    expect(uploaded.statusCode).toBe(303);
    const received = await browser.get(uploaded.headers.location as string);
    const { videoId } = /\/creators-portal\/videos\/(?<videoId>[0-9a-f-]{36})\?uploaded=1$/.exec(
      uploaded.headers.location as string,
    )!.groups!;
    expect(received.body).toContain('Upload received');
    const withoutNoscript = (body: string) => body.replace(/<noscript>[\s\S]*?<\/noscript>/g, '');
    expect(withoutNoscript(received.body)).not.toContain('http-equiv="refresh"');
    expect(received.body).toContain('<noscript><meta http-equiv="refresh" content="2" /></noscript>');
    expect(received.body).toContain('<script src="/assets/video-live.js" defer></script>');
    expect(received.body).toContain(`data-live-video="${videoId}" data-video-status="absent"`);
    const status = async (id: string, as = browser) =>
      JSON.parse((await as.get(`/creators-portal/videos/${id}/status`)).body) as unknown;
    expect(await status(videoId!)).toEqual({ status: 'absent' });

    const { videoId: processing } = await web.addVideo(browser.user!.userId, { status: 'processing' });
    const page = await browser.get(`/creators-portal/videos/${processing}`);
    expect(withoutNoscript(page.body)).not.toContain('http-equiv="refresh"');
    expect(page.body).toContain(`data-live-video="${processing}" data-video-status="processing"`);
    expect(await status(processing)).toMatchObject({ status: 'processing', outcomes: [] });
    // Another user's video is as absent as one that is not there.
    expect(await status(processing, await web.browser('user'))).toEqual({ status: 'absent' });
    expect((await web.app.inject({ url: '/assets/video-live.js' })).statusCode).toBe(200);
  });
});

describe('uploads in flight', () => {
  it('are limited per user: one still processing, or one being received, refuses the next', async () => {
    const processing = await web.browser('user');
    await web.addVideo(processing.user!.userId, { status: 'processing', bytes: 1024 });
    const refused = await upload(processing, video(4096));
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toContain('uploads in progress');

    // A slow upload, still arriving, while the same user starts another.
    const browser = await web.browser('user');
    const boundary = '----slow-upload';
    const body = new PassThrough();
    const slow = web.app.inject({
      method: 'POST',
      url: `/creators-portal/videos?_csrf=${encodeURIComponent(browser.csrfToken)}`,
      headers: { cookie: browser.cookieHeader(), 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    body.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    );
    body.write(MP4_HEAD);
    await eventually(
      async () => (await web.filesInStorage()).some((file) => file.endsWith('.partial') && !file.includes('receiving')),
      { intervalMs: 20 },
    );
    const second = await upload(browser, video(4096));
    expect(second.statusCode).toBe(429);
    body.end(`\r\n--${boundary}--\r\n`);
    expect((await slow).statusCode).toBe(303);
  });

  it('an upload broken off leaves no file behind', async () => {
    const browser = await web.browser('user');
    const before = await uploadsOnDisk();
    const boundary = '----broken-upload';
    const body = new PassThrough();
    const broken = web.app.inject({
      method: 'POST',
      url: `/creators-portal/videos?_csrf=${encodeURIComponent(browser.csrfToken)}`,
      headers: { cookie: browser.cookieHeader(), 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    body.write(
      `--${boundary}\r\nContent-Disposition: form-data; name="video"; filename="v.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
    );
    body.write(MP4_HEAD);
    await eventually(async () => (await uploadsOnDisk()).length > before.length || undefined, { intervalMs: 20 });
    body.destroy(new Error('the connection was lost'));
    await broken.catch(() => undefined);
    await eventually(async () => ((await uploadsOnDisk()).length === before.length ? true : undefined), {
      intervalMs: 20,
    });
    expect(await uploadsOnDisk()).toEqual(before);
  });
});

describe('sources', () => {
  async function finished(kind: 'published' | 'failed', keepSources: boolean) {
    const owner = await web.addUser();
    const { videoId, sourceUri } = await web.addVideo(owner.userId, { status: 'processing' });
    const data = { ownerId: owner.userId, sourceUri, videoId };
    const streamName = videoPublishingStreamName(videoId);
    await web.store.write(
      streamName,
      kind === 'published'
        ? VideoPublished.create({ ...data, transcodedUri: web.storage.uriOf(`transcoded/${videoId}.mp4`) })
        : VideoPublishingFailed.create({ ...data, reason: 'transcoding failed' }),
    );
    const [event] = await web.store.read(streamName);
    const { handlers } = videoPublishing.build({ messageStore: web.store, storage: web.storage, keepSources });
    const handler = kind === 'published' ? handlers.events.VideoPublished : handlers.events.VideoPublishingFailed;
    await handler(event!);
    await handler(event!); // handled twice (a retry, a replay): no error
    return existsSync(web.storage.pathOf(sourceUri));
  }

  it('are removed once the video is published', async () => {
    expect(await finished('published', false)).toBe(false);
  });

  it('are kept once the video has failed, for its owner to try again (deleting the video removes them)', async () => {
    expect(await finished('failed', false)).toBe(true);
  });

  it('are kept when KEEP_UPLOADED_SOURCES says so', async () => {
    expect(await finished('published', true)).toBe(true);
  });
});
