import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isTransientDatabaseError, type MessageStore, type Queryable } from '@vt/message-store';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  findVideoOfOwner,
  isDeletedVideoOfOwner,
  pageOfVideosOfOwner,
  storedFilesOfOwner,
  type CreatorVideo,
} from '../../aggregators/creators-videos/index.js';
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
import { externalMedia, mediaOf } from '../../web/media.js';
import { errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import { html } from '../../web/html.js';
import { requireUser } from '../../web/guards.js';
import { keysetNavigation, readPageRequest, refusePage } from '../../web/pagination.js';
import { creatorName, videoCard } from '../../web/video-card.js';
import type { KeysetPage, PageRequest } from '../../view-data/keyset-pages.js';
import { sniffVideoContainer } from './video-files.js';
import { failureSentence, registerVideoActions, sourceKept, statusBadge, videoChoices } from './video-actions.js';

/** "My videos" pages: 24 videos by default, 48 at most (`?size=`). */
const MY_VIDEOS_PAGE_SIZE = 24;
const MY_VIDEOS_MAX_PAGE_SIZE = 48;
const FIRST_PAGE: PageRequest = { cursor: null, direction: 'after', size: MY_VIDEOS_PAGE_SIZE };

export interface CreatorsPortalOptions {
  store: MessageStore;
  viewData: Queryable;
  storage: Storage;
  /** The largest upload accepted, in bytes. */
  maxUploadBytes: number;
  /** What one user's videos may take in storage, every file counted, in bytes. */
  uploadQuotaBytes?: number;
  /** One user's uploads being received (by this process) or still processing, at most. */
  uploadsInFlight?: number;
}

/** A partial upload untouched for this long was abandoned by a process that stopped while receiving it. */
const ABANDONED_AFTER_MS = 3600_000;

const videoParams = z.object({ videoId: z.uuid() });
const operationParams = z.object({ traceId: z.string().uuid() });

/** The creators portal (the book's chapters 10–11): my videos, uploads, naming and describing. */
/** Lookups in a row that may fail for a lost connection (250 ms apart) before the event stream ends. */
const MAX_LOST_LOOKUPS = 8;

export function createCreatorsPortalApp(options: CreatorsPortalOptions): FastifyPluginAsync {
  const { store, viewData } = options;
  const receiving = new Map<string, number>();
  return async (app) => {
    await removeAbandonedUploads(options.storage.directory);

    // Encapsulated: guards every route of this plugin, however its URL was spelled.
    app.addHook('preHandler', requireUser);
    registerVideoActions(app, options);

    app.get('/creators-portal', async (request, reply) => {
      const asked = readPageRequest(request.query, {
        defaultSize: MY_VIDEOS_PAGE_SIZE,
        maxSize: MY_VIDEOS_MAX_PAGE_SIZE,
      });
      if ('refusal' in asked)
        return refusePage(reply, asked.refusal, { href: '/creators-portal', label: 'Back to my videos' });
      const videos = await pageOfVideosOfOwner(viewData, request.user!.userId, asked.request);
      return renderDashboard(reply, videos, options.maxUploadBytes, [], 200, asked.request.size);
    });

    app.post('/creators-portal/videos', async (request, reply) => {
      const { userId } = request.user!;
      receiving.set(userId, (receiving.get(userId) ?? 0) + 1);
      let upload: Upload;
      try {
        upload = await receiveWithinQuota(request, userId);
      } finally {
        const count = (receiving.get(userId) ?? 1) - 1;
        if (count > 0) receiving.set(userId, count);
        else receiving.delete(userId);
      }
      if (!upload.ok) {
        const videos = await pageOfVideosOfOwner(viewData, userId, FIRST_PAGE);
        // About the file chosen (none, empty, too large, not a video), the error links to the file field.
        const error: FormError = upload.aboutTheFile
          ? { field: UPLOAD_FIELD_ID, message: upload.error }
          : { message: upload.error };
        return renderDashboard(reply, videos, options.maxUploadBytes, [error], upload.statusCode);
      }
      try {
        await store.write(
          videoPublishingCommandStreamName(upload.videoId),
          PublishVideo.create(
            { ownerId: userId, sourceUri: upload.sourceUri, videoId: upload.videoId },
            { metadata: { traceId: request.traceId, userId } },
          ),
        );
      } catch (error) {
        // Nobody will ever publish it: the file must not stay behind.
        await rm(options.storage.pathOf(upload.sourceUri), { force: true });
        throw error;
      }
      return reply.redirect(`/creators-portal/videos/${upload.videoId}?uploaded=1`, 303);
    });

    app.get('/creators-portal/videos/:videoId', async (request, reply) => {
      const video = await ownedVideo(request);
      if (video)
        return renderVideo(reply, video, video.status === 'failed' && (await sourceKept(options.storage, video)));
      // Just uploaded: the portal's View Data may not have the video yet. The page reloads once it has.
      const parsed = videoParams.safeParse(request.params);
      if (parsed.success && (await isDeletedVideoOfOwner(viewData, request.user!.userId, parsed.data.videoId)))
        return reply.page(
          'Video deleted',
          html`<div class="card narrow">
            <h1>Video deleted</h1>
            <p>You deleted this video: its files are gone and it can no longer be watched.</p>
            <a class="button" href="/creators-portal">Back to my videos</a>
          </div>`,
          410,
        );
      if ((request.query as { uploaded?: string }).uploaded === '1' && parsed.success)
        return reply.page(
          'Upload received',
          html`<div class="card narrow">
            <h1>Upload received</h1>
            <p class="muted" role="status" data-video-id="${parsed.data.videoId}" data-video-status="absent">
              We are preparing your video. This page reloads when it is ready.
            </p>
            <a href="/creators-portal">Back to my videos</a>
          </div>`,
          200,
          { head: reloadWhenTheStatusChanges(2) },
        );
      return reply.callNotFound();
    });

    // For the pages of a video being prepared (video-status.js): its status, "absent" until the portal has it.
    app.get('/creators-portal/videos/:videoId/status', async (request, reply) => {
      if (!videoParams.safeParse(request.params).success) return reply.callNotFound();
      const video = await ownedVideo(request);
      return reply.header('cache-control', 'no-store').send({ status: video?.status ?? 'absent' });
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

    // Server-sent events: the outcome is pushed as soon as the aggregator has it. A stream ends when the
    // outcome is sent, after a minute, when View Data fails, and when the server closes.
    const streams = new Set<() => void>();
    app.addHook('preClose', (done) => {
      for (const end of streams) end();
      done();
    });
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
      let wake = () => {};
      const end = () => {
        closed = true;
        wake();
      };
      streams.add(end);
      request.raw.on('close', end);
      const deadline = Date.now() + 60_000;
      let lostLookups = 0;
      try {
        while (!closed && Date.now() < deadline) {
          // A connection lost for a moment: keep the stream open and ask again. A lasting outage (or any other
          // failure) ends it: the page then reloads itself and shows the 503 page while the outage lasts.
          operation ??= await findOperation(viewData, traceId, userId).then(
            (found) => {
              lostLookups = 0;
              return found;
            },
            (error: unknown) => {
              if (isTransientDatabaseError(error) && ++lostLookups < MAX_LOST_LOOKUPS) return null;
              throw error;
            },
          );
          if (operation) {
            reply.raw.write(`event: result\ndata: ${JSON.stringify(operation)}\n\n`);
            break;
          }
          reply.raw.write(': waiting\n\n');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, 250);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } catch (error) {
        // The page falls back to reloading itself, which shows the error page if the failure lasts.
        request.log.error({ err: error }, 'operation events failed');
      } finally {
        streams.delete(end);
        reply.raw.end();
      }
    });
  };

  /** Refuses an upload beyond the user's uploads in flight, and receives no more than their quota's rest. */
  async function receiveWithinQuota(request: FastifyRequest, userId: string): Promise<Upload> {
    const quota = options.uploadQuotaBytes ?? Number.MAX_SAFE_INTEGER;
    const videos = await storedFilesOfOwner(viewData, userId);
    const inFlight = (receiving.get(userId) ?? 1) - 1 + videos.filter((video) => video.processing).length;
    if (inFlight >= (options.uploadsInFlight ?? Number.MAX_SAFE_INTEGER))
      return {
        ok: false,
        statusCode: 429,
        error: 'You have as many uploads in progress as we take at once. Upload this one when they are ready.',
        aboutTheFile: false,
      };
    const stored = await bytesStored(videos.flatMap((video) => video.uris));
    const left = quota - stored;
    const quotaError = {
      ok: false as const,
      statusCode: 413,
      error: `Your videos already take ${megabytes(stored)} of your ${megabytes(quota)}. Remove some before uploading more.`,
      aboutTheFile: false,
    };
    if (left <= 0) return quotaError;
    const upload = await receiveUpload(request, options, Math.min(left, options.maxUploadBytes));
    return !upload.ok && upload.statusCode === 413 && left < options.maxUploadBytes ? quotaError : upload;
  }

  async function bytesStored(uris: string[]): Promise<number> {
    const sizes = await Promise.all(
      uris.map(async (uri) => {
        try {
          return (await stat(options.storage.pathOf(uri))).size;
        } catch {
          return 0; // removed (a source after transcoding) or never made
        }
      }),
    );
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  async function ownedVideo(request: FastifyRequest): Promise<CreatorVideo | null> {
    const parsed = videoParams.safeParse(request.params);
    if (!parsed.success || !request.user) return null;
    return findVideoOfOwner(viewData, request.user.userId, parsed.data.videoId);
  }
}

type Upload =
  | { ok: true; videoId: string; sourceUri: string }
  /** `aboutTheFile`: the file chosen is the problem, not the user's uploads in flight or their quota. */
  | { ok: false; statusCode: number; error: string; aboutTheFile: boolean };

/** The upload form's file field. */
const UPLOAD_FIELD_ID = 'upload-video';

/**
 * Streams the uploaded file into storage under a name of our own. Anything
 * refused (no file, empty, too large, not a video) leaves nothing behind.
 */
async function receiveUpload(
  request: FastifyRequest,
  options: CreatorsPortalOptions,
  maxBytes: number,
): Promise<Upload> {
  const noFile = { ok: false, statusCode: 400, error: 'Choose a video file to upload.', aboutTheFile: true } as const;
  if (!request.isMultipart()) return noFile;
  const file = await request.file({ limits: { fileSize: maxBytes, files: 1 } });
  if (!file) return noFile;

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
        aboutTheFile: true,
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

const megabytes = (bytes: number) => `${Math.ceil(bytes / 1024 / 1024)} MB`;

/** Partial files a stopped process left behind; a live upload keeps its file's modification time fresh. */
async function removeAbandonedUploads(storageDirectory: string) {
  const uploads = path.join(storageDirectory, 'uploads');
  const names = await readdir(uploads).catch(() => [] as string[]);
  for (const name of names.filter((entry) => entry.endsWith('.partial'))) {
    const file = path.join(uploads, name);
    const modified = await stat(file).then(
      (info) => info.mtimeMs,
      () => Date.now(),
    );
    if (Date.now() - modified > ABANDONED_AFTER_MS) await rm(file, { force: true });
  }
}


function renderDashboard(
  reply: FastifyReply,
  page: KeysetPage<CreatorVideo>,
  maxUploadBytes: number,
  errors: FormError[],
  statusCode = 200,
  size = MY_VIDEOS_PAGE_SIZE,
) {
  const videos = page.rows;
  return reply.page(
    titleWithErrors('My videos', errors),
    html`<section class="card">
        <h1>My videos</h1>
        ${errorSummary(errors)}
        <form
          method="post"
          action="/creators-portal/videos?_csrf=${encodeURIComponent(reply.csrfToken())}"
          enctype="multipart/form-data"
          class="stack"
        >
          <div class="field">
            <label for="${UPLOAD_FIELD_ID}">Upload a video</label>
            <input
              id="${UPLOAD_FIELD_ID}"
              type="file"
              name="video"
              accept="video/*"
              required
              ${fieldState(errors, UPLOAD_FIELD_ID, `${UPLOAD_FIELD_ID}-hint`)}
            />
            ${fieldError(errors, UPLOAD_FIELD_ID)}
            <p class="field-hint" id="${UPLOAD_FIELD_ID}-hint">
              Up to ${Math.floor(maxUploadBytes / 1024 / 1024)} MB. We transcode it for the web.
            </p>
          </div>
          <button type="submit">Upload</button>
        </form>
      </section>
      <section>
        ${
          videos.length === 0
            ? html`<p class="muted">
                ${page.previous ? 'No more videos here.' : 'No videos yet. Upload your first one above.'}
              </p>`
            : html`<ul class="videos">
                ${videos.map((video) =>
                  // The card of every list (web/video-card.ts), with what only the owner sees: status, failure.
                  videoCard(
                    {
                      id: video.id,
                      name: video.name,
                      href: `/creators-portal/videos/${video.id}`,
                      hasPoster: video.posterUri !== null,
                      creator: creatorName(video.ownerId),
                      date: video.uploadedAt,
                      durationSeconds: video.durationSeconds,
                      viewCount: video.viewCount,
                      extra: html`${statusBadge(video)}
                        ${video.description ? html`<p class="muted">${video.description.slice(0, 140)}</p>` : ''}
                        ${video.status === 'failed' ? html`<p class="field-error">${failureSentence(video)}</p>` : ''}`,
                    },
                    'h2',
                  ),
                )}
              </ul>`
        }
        ${keysetNavigation('/creators-portal', page, { size: size === MY_VIDEOS_PAGE_SIZE ? null : size })}
      </section>`,
    statusCode,
  );
}

/**
 * For a page that shows a video being prepared: a script that asks for the video's status in the background and
 * reloads the page once, when it has changed (unless something was typed into the page meanwhile, which a reload
 * would lose: then it says so). No `<meta http-equiv="refresh">` reloading the page every few seconds under a
 * screen reader's or a keyboard user's feet; without scripts, that is what still happens (every `seconds`).
 */
function reloadWhenTheStatusChanges(seconds: number) {
  return html`<noscript><meta http-equiv="refresh" content="${seconds}" /></noscript>
    <script src="/assets/video-status.js" defer></script>`;
}

function renderVideo(reply: FastifyReply, video: CreatorVideo, retryPossible: boolean) {
  const csrf = reply.csrfToken();
  // While processing, the page reloads once the outcome is there (see reloadWhenTheStatusChanges).
  const head = video.status === 'processing' ? reloadWhenTheStatusChanges(5) : undefined;
  return reply.page(
    video.name || 'Untitled video',
    html`<section class="card">
        <p><a href="/creators-portal">← My videos</a></p>
        <h1>${video.name || 'Untitled video'}</h1>
        <p>
          ${statusBadge(video)}
          <span class="muted">${video.viewCount} ${video.viewCount === 1 ? 'view' : 'views'}</span>
        </p>
        ${video.status === 'failed' ? html`<div class="alert error" role="alert">${failureSentence(video)}</div>` : ''}
        ${
          video.status === 'published'
            ? html`${
                mediaOf(video.transcodedUri).kind === 'stored'
                  ? html`<video
                      class="player"
                      controls
                      preload="metadata"
                      poster="/media/posters/${video.id}"
                      src="/media/videos/${video.id}"
                    ></video>`
                  : externalMedia(mediaOf(video.transcodedUri))
              }
              ${video.isPublic ? html`<p><a href="/videos/${video.id}">Open the public page</a></p>` : ''}`
            : video.status === 'processing'
              ? html`<p class="muted" role="status" data-video-id="${video.id}" data-video-status="processing">
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
      </section>
      ${videoChoices(video, csrf, retryPossible)}`,
    200,
    head ? { head } : {},
  );
}
