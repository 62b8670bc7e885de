import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Message } from 'message-db-toolkit';
import { applyOperationOutcomes } from '../../aggregators/video-operations/index.js';
import {
  VideoDeleted,
  VideoListed,
  videoPublishingCommandStreamName,
  videoPublishingStreamName,
} from '../../contracts/video-publishing.js';
import { startWebUnderAttack, type WebUnderAttack } from '../../security/harness.js';
import { explainFailure } from './failure-reasons.js';

/**
 * The owner's choices in the creators portal, through the web server as production wires it: each route writes
 * its command for the owner only — another user's video, however its id is spelled, is not found and nothing is
 * written — behind a CSRF token; the pages offer what the video's state allows.
 */
let web: WebUnderAttack;
beforeAll(async () => {
  web = await startWebUnderAttack();
});
afterAll(() => web?.close());

const commandsOf = async (videoId: string) =>
  (await web.store.read(videoPublishingCommandStreamName(videoId))).map(({ type, data, metadata }) => ({
    type,
    data,
    userId: metadata.userId,
  }));

/** Each browser from an address of its own: log-ins are rate-limited per client. */
let clients = 0;
const browser = (as: 'anonymous' | 'user') => web.browser(as, `10.0.${Math.floor(++clients / 250)}.${clients % 250}`);

async function ownerWithVideo(status: 'processing' | 'published' | 'failed' = 'published', name = 'A tutorial') {
  const owner = await browser('user');
  const video = await web.addVideo(owner.user!.userId, { status });
  // As its PublishingStarted makes it: not listed until its owner publishes it.
  await web.viewData.query('UPDATE creators_portal_videos SET name = $2, listed = false WHERE id = $1', [
    video.videoId,
    name,
  ]);
  await web.viewData.query('UPDATE video_catalogue SET name = $2, listed = false WHERE id = $1', [video.videoId, name]);
  return { owner, ...video };
}

describe('the owner’s choices', () => {
  it.each(['publish', 'unlist', 'delete', 'retry'] as const)(
    '%s: the command for the video, by its owner, then the operation page',
    async (action) => {
      const { owner, videoId } = await ownerWithVideo(action === 'retry' ? 'failed' : 'published');
      const response = await owner.post(`/creators-portal/videos/${videoId}/${action}`, {});
      expect(response.statusCode).toBe(303);
      expect(response.headers.location).toMatch(/^\/creators-portal\/operations\/[0-9a-f-]{36}$/);
      const type = { publish: 'ListVideo', unlist: 'UnlistVideo', delete: 'DeleteVideo', retry: 'RetryPublishing' };
      expect(await commandsOf(videoId)).toEqual([
        { type: type[action], data: { videoId }, userId: owner.user!.userId },
      ]);
    },
  );

  it('another user’s video is not found, however its id is spelled, and nothing is written', async () => {
    const { videoId } = await ownerWithVideo();
    const stranger = await browser('user');
    const spellings = [
      videoId,
      videoId.toUpperCase(),
      encodeURIComponent(videoId).replace(/[0-9a-f]/, (char) => `%${char.charCodeAt(0).toString(16)}`),
      `${videoId}%00`,
      `${videoId}%0A`,
      `..%2F${videoId}`,
      `${videoId}%2F..%2F${videoId}`,
    ];
    for (const action of ['publish', 'unlist', 'delete', 'retry']) {
      for (const id of spellings) {
        const response = await stranger.post(`/creators-portal/videos/${id}/${action}`, {});
        // Not found; text PostgreSQL cannot store (NUL) is refused before any route.
        expect({ action, id, refused: [400, 404].includes(response.statusCode) }).toEqual({
          action,
          id,
          refused: true,
        });
      }
    }
    for (const id of spellings)
      expect([400, 404]).toContain((await stranger.get(`/creators-portal/videos/${id}/delete`)).statusCode);
    expect(await commandsOf(videoId)).toEqual([]);
  });

  it('the owner’s id spelled in capitals is the same video: the command names it as stored', async () => {
    const { owner, videoId } = await ownerWithVideo();
    expect((await owner.post(`/creators-portal/videos/${videoId.toUpperCase()}/publish`, {})).statusCode).toBe(303);
    expect(await commandsOf(videoId)).toEqual([{ type: 'ListVideo', data: { videoId }, userId: owner.user!.userId }]);
  });

  it('needs the CSRF token: a forged or missing one is refused, nothing written', async () => {
    const { owner, videoId } = await ownerWithVideo();
    const cookie = [...owner.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    for (const url of [`/creators-portal/videos/${videoId}/delete`, `/creators-portal/videos/${videoId}/publish`]) {
      const forged = await web.app.inject({
        method: 'POST',
        url,
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: '_csrf=forged',
      });
      expect(forged.statusCode).toBe(403);
      const missing = await web.app.inject({ method: 'POST', url, headers: { cookie } });
      expect(missing.statusCode).toBe(403);
    }
    expect(await commandsOf(videoId)).toEqual([]);
  });

  it('deleting asks first, on a page with a form of its own', async () => {
    const { owner, videoId } = await ownerWithVideo('published', 'My <b>talk</b>');
    const page = await owner.get(`/creators-portal/videos/${videoId}/delete`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<h1>Delete “My &lt;b&gt;talk&lt;/b&gt;”?</h1>');
    expect(page.body).toMatch(
      new RegExp(
        `<form method="post" action="/creators-portal/videos/${videoId}/delete"[^>]*>\\s*<input type="hidden" name="_csrf" value="[^"]+"`,
      ),
    );
    expect(page.body).toContain(`href="/creators-portal/videos/${videoId}">Keep it</a>`);
    expect(await commandsOf(videoId)).toEqual([]);
  });

  it('trying again needs the upload: without it, a page says so and nothing is written', async () => {
    const { owner, videoId, sourceUri } = await ownerWithVideo('failed');
    await rm(web.storage.pathOf(sourceUri));
    const response = await owner.post(`/creators-portal/videos/${videoId}/retry`, {});
    expect(response.statusCode).toBe(409);
    expect(response.body).toContain('We no longer have the file you uploaded.');
    expect(await commandsOf(videoId)).toEqual([]);
    const page = await owner.get(`/creators-portal/videos/${videoId}`);
    expect(page.body).not.toContain(`/creators-portal/videos/${videoId}/retry`);
    expect(page.body).toContain('we cannot try again');
  });
});

describe('the video page offers what the video’s state allows', () => {
  const forms = (body: string) =>
    [...body.matchAll(/action="\/creators-portal\/videos\/[^/]+\/(\w+)"/g)].map((m) => m[1]);

  it('ready and named: Publish; public: Unlist; both: Delete…; processing: none of them', async () => {
    const { owner, videoId } = await ownerWithVideo();
    const ready = (await owner.get(`/creators-portal/videos/${videoId}`)).body;
    expect(ready).toContain('<span class="badge published ready">Ready</span>');
    expect(forms(ready)).toEqual(['name', 'describe', 'publish']);
    expect(ready).toContain(`href="/creators-portal/videos/${videoId}/delete">Delete…</a>`);
    expect(ready).not.toContain('Open the public page');

    await web.viewData.query('UPDATE creators_portal_videos SET listed = true WHERE id = $1', [videoId]);
    const listed = (await owner.get(`/creators-portal/videos/${videoId}`)).body;
    expect(listed).toContain('<span class="badge published public">Public</span>');
    expect(forms(listed)).toEqual(['name', 'describe', 'unlist']);
    expect(listed).toContain('Open the public page');

    const unnamed = await ownerWithVideo('published', '');
    const body = (await unnamed.owner.get(`/creators-portal/videos/${unnamed.videoId}`)).body;
    expect(forms(body)).toEqual(['name', 'describe']);
    expect(body).toContain('Give it a name, then publish it');

    const processing = await ownerWithVideo('processing');
    const page = (await processing.owner.get(`/creators-portal/videos/${processing.videoId}`)).body;
    expect(forms(page)).toEqual(['name', 'describe']);
    expect(page).not.toContain('/delete');
  });

  it('failed: a sentence for the owner, never ffmpeg’s words; Try again while the upload is kept, and Delete…', async () => {
    const { owner, videoId } = await ownerWithVideo('failed');
    const technical =
      'transcoding failed: The file is not a video ffmpeg can read: moov atom not found; Invalid data found when processing input';
    await web.viewData.query('UPDATE creators_portal_videos SET failure_reason = $2 WHERE id = $1', [
      videoId,
      technical,
    ]);
    for (const url of [`/creators-portal/videos/${videoId}`, '/creators-portal']) {
      const body = (await owner.get(url)).body;
      expect(body).toContain('We could not read this file as a video. Upload an MP4, WebM or MOV file.');
      expect(body).not.toContain('moov atom');
      expect(body).not.toContain('ffmpeg');
    }
    const page = (await owner.get(`/creators-portal/videos/${videoId}`)).body;
    expect(forms(page)).toEqual(['name', 'describe', 'retry']);
    expect(page).toContain(`href="/creators-portal/videos/${videoId}/delete">Delete…</a>`);
  });

  it('deleted: gone from my videos; its page says so (410) to its owner, not found to anyone else', async () => {
    const { owner, videoId } = await ownerWithVideo();
    await web.viewData.query(`UPDATE creators_portal_videos SET deleted_at = now() WHERE id = $1;`, [videoId]);
    await web.viewData.query(`UPDATE video_catalogue SET deleted_at = now() WHERE id = $1`, [videoId]);
    expect((await owner.get('/creators-portal')).body).not.toContain(videoId);
    const page = await owner.get(`/creators-portal/videos/${videoId}`);
    expect(page.statusCode).toBe(410);
    expect(page.body).toContain('Video deleted');
    expect((await (await browser('user')).get(`/creators-portal/videos/${videoId}`)).statusCode).toBe(404);
    const watch = await (await browser('anonymous')).get(`/videos/${videoId}`);
    expect(watch.statusCode).toBe(410);
    expect(watch.body).toContain('This video has been deleted');
    expect((await (await browser('anonymous')).get(`/media/videos/${videoId}`)).statusCode).toBe(404);
  });
});

describe('failure reasons, for the owner', () => {
  it.each([
    ['transcoding failed: The file is not a video ffmpeg can read: it is empty', 'The file you uploaded is empty.'],
    [
      'transcoding failed: The file is not a video ffmpeg can read: it is a still image or text (png_pipe), not a video',
      'This file is a picture or a text, not a video.',
    ],
    ['transcoding failed: The file is not a video ffmpeg can read: it has no video stream', 'sound but no picture'],
    ['transcoding failed: No file at storage:uploads/x.mp4', 'We no longer have the file you uploaded.'],
    [
      'transcoding failed: Transcoding storage:uploads/x.mp4 took longer than 1 hour; ffmpeg was stopped while transcoding',
      'took too long',
    ],
    [
      'transcoding failed: ffmpeg could not transcode storage:uploads/x.mp4: No space left on device',
      'ran out of room',
    ],
    [
      'transcoding failed: ffmpeg could not transcode storage:uploads/x.mp4: Conversion failed!',
      'We could not prepare',
    ],
    ['Transcoding failed (the book’s words)', 'We could not prepare'],
  ])('%s → a sentence', (reason, sentence) => {
    const { sentence: said } = explainFailure(reason);
    expect(said).toContain(sentence);
    expect(said).not.toMatch(/ffmpeg|storage:|moov/);
  });
});

describe('the operation page after a choice', () => {
  /** The owner's choice, answered by `answer` as video-publishing writes it, applied to the operations' View Data. */
  async function answered(action: 'publish' | 'delete', answer: (videoId: string, ownerId: string) => Message) {
    const { owner, videoId } = await ownerWithVideo();
    const response = await owner.post(`/creators-portal/videos/${videoId}/${action}`, {});
    const traceId = /([0-9a-f-]{36})$/.exec(response.headers.location as string)![1]!;
    const stream = videoPublishingStreamName(videoId);
    const message = answer(videoId, owner.user!.userId);
    const { position } = await web.store.write(stream, {
      ...message,
      metadata: { traceId, userId: owner.user!.userId },
    });
    const stored = await web.store.read(stream, { from: position, max: 1 });
    await web.viewData.transaction((tx) => applyOperationOutcomes(stored, tx));
    return { owner, videoId, page: await owner.get(`/creators-portal/operations/${traceId}`) };
  }

  it('after deleting, offers "Back to my videos", never the video that is gone', async () => {
    const { videoId, page } = await answered('delete', (videoId, ownerId) =>
      VideoDeleted.create({ videoId, ownerId, files: [] }),
    );
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Your change has been saved.');
    expect(page.body).toContain('<a class="button" href="/creators-portal">Back to my videos</a>');
    expect(page.body).not.toContain('Back to the video');
    expect(page.body).not.toContain(`href="/creators-portal/videos/${videoId}"`);
  });

  it('after publishing, offers "Back to the video"', async () => {
    const { videoId, page } = await answered('publish', (videoId) => VideoListed.create({ videoId }));
    expect(page.body).toContain(`<a class="button" href="/creators-portal/videos/${videoId}">Back to the video</a>`);
  });
});
