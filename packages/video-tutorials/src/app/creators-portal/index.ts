import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isTransientDatabaseError, type MessageStore, type Queryable } from '@vt/message-store';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findVideoOfOwner, listVideosOfOwner, type CreatorVideo } from '../../aggregators/creators-videos/index.js';
import { findOperation } from '../../aggregators/video-operations/index.js';
import {
  DescribeVideo,
  NameVideo,
  PublishVideo,
  VIDEO_DESCRIPTION_MAX_LENGTH,
  VIDEO_NAME_MAX_LENGTH,
  videoPublishingCommandStreamName,
} from '../../contracts/video-publishing.js';
import type { Storage } from '../../storage.js';
import { html } from '../../web/html.js';
import { requireUser } from '../../web/server.js';
import { sniffVideoContainer } from './video-files.js';

export interface CreatorsPortalOptions {
  store: MessageStore;
  viewData: Queryable;
  storage: Storage;
  /** The largest upload accepted, in bytes. */
  maxUploadBytes: number;
}

const videoParams = z.object({ videoId: z.uuid() });
const operationParams = z.object({ traceId: z.string().uuid() });

/** The creators portal (the book's chapters 10–11): my videos, uploads, naming and describing. */
export function createCreatorsPortalApp(options: CreatorsPortalOptions): FastifyPluginAsync {
  const { store, viewData } = options;
  return async (app) => {
    app.addHook('preHandler', async (request, reply) => {
      if (request.url.startsWith('/creators-portal')) await requireUser(request, reply);
    });

    app.get('/creators-portal', async (request, reply) => {
      const videos = await listVideosOfOwner(viewData, request.user!.userId);
      return renderDashboard(reply, videos, options.maxUploadBytes);
    });

    app.post('/creators-portal/videos', async (request, reply) => {
      const upload = await receiveUpload(request, options);
      if (!upload.ok) {
        const videos = await listVideosOfOwner(viewData, request.user!.userId);
        return renderDashboard(reply, videos, options.maxUploadBytes, upload.error, upload.statusCode);
      }
      const { userId } = request.user!;
      await store.write(
        videoPublishingCommandStreamName(upload.videoId),
        PublishVideo.create(
          { ownerId: userId, sourceUri: upload.sourceUri, videoId: upload.videoId },
          { metadata: { traceId: request.traceId, userId } },
        ),
      );
      return reply.redirect(`/creators-portal/videos/${upload.videoId}?uploaded=1`, 303);
    });

    app.get('/creators-portal/videos/:videoId', async (request, reply) => {
      const video = await ownedVideo(request);
      if (video) return renderVideo(reply, video);
      // Just uploaded: the portal's View Data may not have the video yet. Wait for it, reloading.
      if ((request.query as { uploaded?: string }).uploaded === '1' && videoParams.safeParse(request.params).success)
        return reply.page(
          'Upload received',
          html`<div class="card narrow">
            <h1>Upload received</h1>
            <p class="muted" role="status">We are preparing your video. This page reloads until it is ready.</p>
            <a href="/creators-portal">Back to my videos</a>
          </div>`,
          200,
          { head: html`<meta http-equiv="refresh" content="2" />` },
        );
      return reply.callNotFound();
    });

    for (const [action, field, maxLength] of [
      ['name', 'name', VIDEO_NAME_MAX_LENGTH],
      ['describe', 'description', VIDEO_DESCRIPTION_MAX_LENGTH],
    ] as const) {
      app.post(`/creators-portal/videos/:videoId/${action}`, async (request, reply) => {
        const video = await ownedVideo(request);
        if (!video) return reply.callNotFound();
        const body = (request.body ?? {}) as Record<string, unknown>;
        // The component decides what a good name is; this only keeps absurd input out of the store.
        const value = (typeof body[field] === 'string' ? body[field] : '').slice(0, maxLength * 2);
        const { userId } = request.user!;
        const metadata = { traceId: request.traceId, userId };
        const command =
          action === 'name'
            ? NameVideo.create({ videoId: video.id, name: value }, { metadata })
            : DescribeVideo.create({ videoId: video.id, description: value }, { metadata });
        await store.write(videoPublishingCommandStreamName(video.id), command);
        return reply.redirect(`/creators-portal/operations/${request.traceId}`, 303);
      });
    }

    app.get('/creators-portal/operations/:traceId', async (request, reply) => {
      const parsed = operationParams.safeParse(request.params);
      if (!parsed.success) return reply.callNotFound();
      const operation = await findOperation(viewData, parsed.data.traceId, request.user!.userId);
      if (!operation)
        return reply.page(
          'Working on it',
          html`<div class="card narrow" data-operation="${parsed.data.traceId}">
            <h1>Working on it…</h1>
            <p class="muted" role="status">Your change has been sent. This page updates by itself when it is done.</p>
            <a href="/creators-portal">Back to my videos</a>
          </div>`,
          200,
          {
            head: html`<noscript><meta http-equiv="refresh" content="2" /></noscript>
              <script src="/assets/operation.js" defer></script>`,
          },
        );
      return reply.page(
        operation.succeeded ? 'Done' : 'Not done',
        html`<div class="card narrow">
          <h1>${operation.succeeded ? 'Done' : 'That did not work'}</h1>
          ${
            operation.succeeded
              ? html`<div class="alert ok" role="status">Your change has been saved.</div>`
              : html`<div class="alert error" role="alert">${operation.failureReason ?? 'It was rejected.'}</div>`
          }
          <a class="button" href="/creators-portal/videos/${operation.videoId}">Back to the video</a>
        </div>`,
      );
    });

    // Server-sent events: the outcome is pushed as soon as the aggregator has it.
    app.get('/creators-portal/operations/:traceId/events', async (request, reply) => {
      const parsed = operationParams.safeParse(request.params);
      if (!parsed.success) return reply.callNotFound();
      const { traceId } = parsed.data;
      const userId = request.user!.userId;
      // Asked once before the stream opens, so that an unreachable database still answers 503 + Retry-After.
      let operation = await findOperation(viewData, traceId, userId);
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      let closed = false;
      request.raw.on('close', () => (closed = true));
      const deadline = Date.now() + 60_000;
      while (!closed && Date.now() < deadline) {
        // A database lost meanwhile: keep the stream open and ask again.
        operation ??= await findOperation(viewData, traceId, userId).catch((error: unknown) => {
          if (isTransientDatabaseError(error)) return null;
          throw error;
        });
        if (operation) {
          reply.raw.write(`event: result\ndata: ${JSON.stringify(operation)}\n\n`);
          break;
        }
        reply.raw.write(': waiting\n\n');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      reply.raw.end();
    });
  };

  async function ownedVideo(request: FastifyRequest): Promise<CreatorVideo | null> {
    const parsed = videoParams.safeParse(request.params);
    if (!parsed.success || !request.user) return null;
    return findVideoOfOwner(viewData, request.user.userId, parsed.data.videoId);
  }
}

type Upload = { ok: true; videoId: string; sourceUri: string } | { ok: false; statusCode: number; error: string };

/**
 * Streams the uploaded file into storage under a name of our own. Anything
 * refused (no file, empty, too large, not a video) leaves nothing behind.
 */
async function receiveUpload(request: FastifyRequest, options: CreatorsPortalOptions): Promise<Upload> {
  if (!request.isMultipart()) return { ok: false, statusCode: 400, error: 'Choose a video file to upload.' };
  const file = await request.file({ limits: { fileSize: options.maxUploadBytes, files: 1 } });
  if (!file) return { ok: false, statusCode: 400, error: 'Choose a video file to upload.' };

  const videoId = randomUUID();
  const uploads = path.join(options.storage.directory, 'uploads');
  await mkdir(uploads, { recursive: true });
  const partial = path.join(uploads, `.${videoId}.partial`);
  let head = Buffer.alloc(0);
  try {
    await pipeline(
      file.file,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          if (head.length < 512) head = Buffer.concat([head, chunk.subarray(0, 512 - head.length)]);
          yield chunk;
        }
      },
      createWriteStream(partial),
    );
    const refusal = file.file.truncated
      ? {
          statusCode: 413,
          error: `That file is larger than the limit of ${Math.floor(options.maxUploadBytes / 1024 / 1024)} MB.`,
        }
      : head.length === 0
        ? { statusCode: 400, error: 'That file is empty.' }
        : null;
    const extension = refusal ? null : sniffVideoContainer(head);
    if (refusal || !extension) {
      await rm(partial, { force: true });
      return {
        ok: false,
        ...(refusal ?? { statusCode: 415, error: 'That file is not a video we can read (MP4, MOV, WebM, MKV, AVI…).' }),
      };
    }
    const key = `uploads/${videoId}.${extension}`;
    await rename(partial, options.storage.pathOf(options.storage.uriOf(key)));
    return { ok: true, videoId, sourceUri: options.storage.uriOf(key) };
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

const STATUS_LABELS: Record<CreatorVideo['status'], string> = {
  processing: 'Processing',
  published: 'Published',
  failed: 'Failed',
};

function thumbnail(video: CreatorVideo) {
  return video.posterUri
    ? html`<img class="thumb" src="/media/posters/${video.id}" alt="" loading="lazy" />`
    : html`<div class="thumb placeholder" aria-hidden="true">▶</div>`;
}

function renderDashboard(
  reply: FastifyReply,
  videos: CreatorVideo[],
  maxUploadBytes: number,
  error?: string,
  statusCode = 200,
) {
  return reply.page(
    'My videos',
    html`<section class="card">
        <h1>My videos</h1>
        ${error ? html`<div class="alert error" role="alert">${error}</div>` : ''}
        <form
          method="post"
          action="/creators-portal/videos?_csrf=${encodeURIComponent(reply.csrfToken())}"
          enctype="multipart/form-data"
          class="stack"
        >
          <label
            >Upload a video
            <input type="file" name="video" accept="video/*" required />
          </label>
          <p class="muted">Up to ${Math.floor(maxUploadBytes / 1024 / 1024)} MB. We transcode it for the web.</p>
          <button type="submit">Upload</button>
        </form>
      </section>
      <section>
        ${
          videos.length === 0
            ? html`<p class="muted">No videos yet. Upload your first one above.</p>`
            : html`<ul class="videos">
                ${videos.map(
                  (video) =>
                    html`<li class="card video-card" data-video-id="${video.id}">
                      <a href="/creators-portal/videos/${video.id}">${thumbnail(video)}</a>
                      <span class="badge ${video.status}">${STATUS_LABELS[video.status]}</span>
                      <h2><a href="/creators-portal/videos/${video.id}">${video.name || 'Untitled video'}</a></h2>
                      <p class="muted">${video.description.slice(0, 140)}</p>
                      ${video.status === 'failed' ? html`<p class="field-error">${video.failureReason}</p>` : ''}
                      <p class="muted">${video.viewCount} ${video.viewCount === 1 ? 'view' : 'views'}</p>
                    </li>`,
                )}
              </ul>`
        }
      </section>`,
    statusCode,
  );
}

function renderVideo(reply: FastifyReply, video: CreatorVideo) {
  const csrf = reply.csrfToken();
  // While processing, reload now and then to show the outcome (a form being typed in would be lost, so
  // only until the video is published or failed; naming forms are most useful after that anyway).
  const head = video.status === 'processing' ? html`<meta http-equiv="refresh" content="5" />` : undefined;
  return reply.page(
    video.name || 'Untitled video',
    html`<section class="card">
        <p><a href="/creators-portal">← My videos</a></p>
        <h1>${video.name || 'Untitled video'}</h1>
        <p>
          <span class="badge ${video.status}">${STATUS_LABELS[video.status]}</span>
          <span class="muted">${video.viewCount} ${video.viewCount === 1 ? 'view' : 'views'}</span>
        </p>
        ${video.status === 'failed' ? html`<div class="alert error" role="alert">${video.failureReason}</div>` : ''}
        ${
          video.status === 'published'
            ? html`<video
                  class="player"
                  controls
                  preload="metadata"
                  poster="/media/posters/${video.id}"
                  src="/media/videos/${video.id}"
                ></video>
                <p><a href="/videos/${video.id}">Open the public page</a></p>`
            : video.status === 'processing'
              ? html`<p class="muted" role="status">
                  We are transcoding your video. This page reloads by itself and shows it once it can be watched.
                </p>`
              : ''
        }
        ${video.description ? html`<p>${video.description}</p>` : ''}
        ${
          video.transcription
            ? html`<details>
                <summary>Transcript</summary>
                <p>${video.transcription}</p>
              </details>`
            : ''
        }
        ${video.transcriptionFailure ? html`<p class="muted">No transcript: ${video.transcriptionFailure}</p>` : ''}
      </section>
      <section class="card">
        <form method="post" action="/creators-portal/videos/${video.id}/name" class="stack">
          <input type="hidden" name="_csrf" value="${csrf}" />
          <label
            >Name <input type="text" name="name" value="${video.name}" maxlength="${VIDEO_NAME_MAX_LENGTH * 2}"
          /></label>
          <button type="submit">Save the name</button>
        </form>
      </section>
      <section class="card">
        <form method="post" action="/creators-portal/videos/${video.id}/describe" class="stack">
          <input type="hidden" name="_csrf" value="${csrf}" />
          <label>Description <textarea name="description" rows="5">${video.description}</textarea></label>
          <button type="submit">Save the description</button>
        </form>
      </section>`,
    200,
    head ? { head } : {},
  );
}
