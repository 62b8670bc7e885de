import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Message, MessageMetadata, MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  findVideoOfOwner,
  isDeletedVideoOfOwner,
  pageOfVideosOfOwner,
  storedFilesOfOwner,
  type CreatorVideo,
} from '../../aggregators/creators-videos/index.js';
import { findAnsweredOperation, findOperation } from '../../aggregators/video-operations/index.js';
import {
  DescribeVideo,
  NameVideo,
  VideoDeleted,
  PublishVideo,
  VIDEO_DESCRIPTION_MAX_LENGTH,
  VIDEO_NAME_MAX_LENGTH,
  videoPublishingCommandStreamName,
} from '../../contracts/video-publishing.js';
import type { Storage } from '../../storage.js';
import { externalMedia, mediaOf } from '../../web/media.js';
import { errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import { html, type SafeHtml } from '../../html.js';
import { requireUser } from '../../web/guards.js';
import { keysetNavigation, readPageRequest, refusePage } from '../../web/pagination.js';
import { creatorName, videoCard } from '../../web/video-card.js';
import type { KeysetPage, PageRequest } from '../../view-data/keyset-pages.js';
import { eventStreams, hashOf, outcomeOf, registerLiveVideoRoutes, type VideoPageParts } from './live.js';
import { sniffVideoContainer } from './video-files.js';
import { failureSentence, registerVideoActions, sourceKept, statusBadge, videoChoices } from './video-actions.js';
import { requestMetadata } from '../../web/request-metadata.js';

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
export function createCreatorsPortalApp(options: CreatorsPortalOptions): FastifyPluginAsync {
  const { store, viewData } = options;
  const receiving = new Map<string, number>();
  return async (app) => {
    await removeAbandonedUploads(options.storage.directory);

    // Encapsulated: guards every route of this plugin, however its URL was spelled.
    app.addHook('preHandler', requireUser);
    registerVideoActions(app, options);
    const serveEvents = eventStreams(app);
    registerLiveVideoRoutes(app, {
      viewData,
      pageParts: async (video) => videoPageParts(video, await retryPossible(options.storage, video)),
      serve: serveEvents,
    });

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
      const wantsJson = (request.headers.accept ?? '').includes('application/json');
      if (!upload.ok) {
        // The upload page's script (upload.js) shows the sentence in place.
        if (wantsJson) return reply.code(upload.statusCode).send({ error: 'Not uploaded', message: upload.error });
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
            { metadata: requestMetadata(request, userId) },
          ),
        );
      } catch (error) {
        // Nobody will ever publish it: the file must not stay behind.
        await rm(options.storage.pathOf(upload.sourceUri), { force: true });
        throw error;
      }
      const location = `/creators-portal/videos/${upload.videoId}?uploaded=1`;
      if (wantsJson) return reply.code(201).header('location', location).send({ location });
      return reply.redirect(location, 303);
    });

    app.get('/creators-portal/videos/:videoId', async (request, reply) => {
      const video = await ownedVideo(request);
      if (video) return renderVideo(reply, video, options.storage);
      // Just uploaded: the portal's View Data may not have the video yet. Once it has, the script opens the
      // video's page; without scripts this page, which has no form to lose, refreshes itself.
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
          html`<div class="card narrow" data-live-video="${parsed.data.videoId}" data-video-status="absent">
            <h1>Upload received</h1>
            <p class="muted" role="status">We are preparing your video. Its page opens as soon as it is ready.</p>
            <a href="/creators-portal">Back to my videos</a>
          </div>`,
          200,
          {
            head: html`<noscript><meta http-equiv="refresh" content="2" /></noscript> ${LIVE_SCRIPT}`,
          },
        );
      return reply.callNotFound();
    });

    app.post(
      '/creators-portal/videos/:videoId/name',
      { bodyLimit: formBodyLimitFor(TEXT_FORMS.name.maxLength) },
      changeText('name', (videoId, name, metadata) => NameVideo.create({ videoId, name }, { metadata })),
    );

    app.post(
      '/creators-portal/videos/:videoId/describe',
      { bodyLimit: formBodyLimitFor(TEXT_FORMS.describe.maxLength) },
      changeText('describe', (videoId, description, metadata) =>
        DescribeVideo.create({ videoId, description }, { metadata }),
      ),
    );

    app.get('/creators-portal/operations/:traceId', async (request, reply) => {
      const parsed = operationParams.safeParse(request.params);
      if (!parsed.success) return reply.callNotFound();
      const operation = await findAnsweredOperation(viewData, parsed.data.traceId, request.user!.userId);
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
      // A deleted video has no page to go back to (410): back to the list. An outcome recorded before the answer's
      // type was kept is told by the video's row.
      const deleted =
        operation.answerType === VideoDeleted.type ||
        (operation.answerType === null &&
          operation.succeeded &&
          (await isDeletedVideoOfOwner(viewData, request.user!.userId, operation.videoId)));
      return reply.page(
        operation.succeeded ? 'Done' : 'Not done',
        html`<div class="card narrow">
          <h1>${operation.succeeded ? 'Done' : 'That did not work'}</h1>
          ${
            operation.succeeded
              ? html`<div class="alert ok" role="status">Your change has been saved.</div>`
              : html`<div class="alert error" role="alert">${operation.failureReason ?? 'It was rejected.'}</div>`
          }
          ${
            deleted
              ? html`<a class="button" href="/creators-portal">Back to my videos</a>`
              : html`<a class="button" href="/creators-portal/videos/${operation.videoId}">Back to the video</a>`
          }
        </div>`,
      );
    });

    // Server-sent events: the outcome is pushed as soon as the aggregator has it. A stream ends when the
    // outcome is sent, after a minute, when View Data fails, and when the server closes.
    app.get('/creators-portal/operations/:traceId/events', async (request, reply) => {
      const parsed = operationParams.safeParse(request.params);
      if (!parsed.success) return reply.callNotFound();
      const { traceId } = parsed.data;
      const userId = request.user!.userId;
      let operation = await findOperation(viewData, traceId, userId);
      await serveEvents(request, reply, {
        intervalMs: 250,
        lifetimeMs: 60_000,
        look: async (send) => {
          operation ??= await findOperation(viewData, traceId, userId);
          if (!operation) return 'go on';
          send('result', operation);
          return 'done';
        },
      });
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

  /**
   * The handler of a video's name or description form: the owner's text goes to video-publishing as
   * `commandOf` makes it, or "Check again" shows where an earlier change stands.
   */
  function changeText(
    action: keyof typeof TEXT_FORMS,
    commandOf: (videoId: string, text: string, metadata: MessageMetadata) => Message<'NameVideo' | 'DescribeVideo'>,
  ) {
    const form = TEXT_FORMS[action];
    return async (request: FastifyRequest, reply: FastifyReply) => {
      const video = await ownedVideo(request);
      if (!video) return reply.callNotFound();
      const body = (request.body ?? {}) as Record<string, unknown>;
      // Browsers send a textarea's line breaks as CRLF, but count each as one character (as maxlength does).
      const typed = body[form.field];
      const value = (typeof typed === 'string' ? typed : '').replace(/\r\n?/g, '\n');
      const wantsJson = (request.headers.accept ?? '').includes('application/json');
      const { userId } = request.user!;
      // "Check again" (a page without JavaScript): where an earlier request stands; nothing is written.
      if (body.check !== undefined) {
        const checked = z.uuid().safeParse(body.check);
        if (!checked.success) return reply.code(400).send({ error: 'Bad Request' });
        const operation = await findOperation(viewData, checked.data, userId);
        const state: TextFormState['state'] =
          operation?.videoId !== video.id
            ? { kind: 'saving', traceId: checked.data }
            : operation.succeeded
              ? { kind: 'saved' }
              : { kind: 'rejected', message: outcomeOf(operation).message! };
        return renderVideo(reply, video, options.storage, { action, value, state });
      }
      // The component decides what a good name is; past its limit nothing reaches the store.
      const length = [...value].length;
      if (length > form.maxLength) {
        const message = `The ${form.field} can be at most ${form.maxLength} characters long; this one has ${length}.`;
        if (wantsJson) return reply.code(422).send({ error: 'Unprocessable Entity', message });
        return renderVideo(reply, video, options.storage, { action, value, state: { kind: 'rejected', message } }, 422);
      }
      const command = commandOf(video.id, value, requestMetadata(request, userId));
      await store.write(videoPublishingCommandStreamName(video.id), command);
      // The outcome comes later, from View Data: pushed to the page (video-live.js), or "Check again".
      if (wantsJson) return reply.code(202).send({ traceId: request.traceId });
      return renderVideo(reply, video, options.storage, {
        action,
        value,
        state: { kind: 'saving', traceId: request.traceId },
      });
    };
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
      ? { statusCode: 413, error: tooLargeMessage(options.maxUploadBytes) }
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

/** Said by the server, and by the upload page's script before it sends a file that large. */
const tooLargeMessage = (maxUploadBytes: number) =>
  `That file is larger than the limit of ${Math.floor(maxUploadBytes / 1024 / 1024)} MB.`;

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
          data-upload
          data-max-bytes="${maxUploadBytes}"
          data-too-large="${tooLargeMessage(maxUploadBytes)}"
          data-failed="The upload did not get through. Check your connection and try again."
        >
          <div class="field">
            <label for="${UPLOAD_FIELD_ID}">Upload a video</label>
            <div class="drop-zone" data-drop-zone>
              <input
                id="${UPLOAD_FIELD_ID}"
                type="file"
                name="video"
                accept="video/*"
                required
                ${fieldState(errors, UPLOAD_FIELD_ID, `${UPLOAD_FIELD_ID}-hint`)}
              />
              <p class="drop-hint" data-drop-hint hidden>or drop a video file here</p>
            </div>
            ${fieldError(errors, UPLOAD_FIELD_ID)}
            <p class="field-error" id="${UPLOAD_FIELD_ID}-live-error" role="alert" data-upload-error hidden></p>
            <p class="field-hint" id="${UPLOAD_FIELD_ID}-hint">
              Up to ${Math.floor(maxUploadBytes / 1024 / 1024)} MB. We transcode it for the web.
            </p>
          </div>
          <div class="upload-progress" data-upload-progress hidden>
            <label for="upload-progress">Uploading your video</label>
            <progress id="upload-progress" max="100" value="0" aria-describedby="upload-progress-text"></progress>
            <p class="muted" id="upload-progress-text" data-upload-progress-text></p>
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
                      creator: creatorName(video.ownerId, video.ownerDisplayName),
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
    { head: html`<script src="/assets/upload.js" defer></script>` },
  );
}

/** The video page's script: its parts kept up to date, its forms sent in place (video-live.js). */
const LIVE_SCRIPT = html`<script src="/assets/video-live.js" defer></script>`;

/** The video page's two forms, each with the component's limit as its `maxlength` (and the app's). */
const TEXT_FORMS = {
  name: {
    field: 'name',
    id: 'video-name',
    label: 'Name',
    maxLength: VIDEO_NAME_MAX_LENGTH,
    button: 'Save the name',
    saved: 'The name has been saved.',
  },
  describe: {
    field: 'description',
    id: 'video-description',
    label: 'Description',
    maxLength: VIDEO_DESCRIPTION_MAX_LENGTH,
    button: 'Save the description',
    saved: 'The description has been saved.',
  },
} as const;

/**
 * The body a form of `maxLength` characters may take: each a 4-byte UTF-8 character percent-encoded (12 bytes),
 * and room for the CSRF token and field names. Text at the limit is accepted, however it is written.
 */
const formBodyLimitFor = (maxLength: number) => maxLength * 12 + 4096;

/** A form of the video page sent without JavaScript: what was typed, kept, and where its request stands. */
interface TextFormState {
  action: keyof typeof TEXT_FORMS;
  value: string;
  state: { kind: 'saving'; traceId: string } | { kind: 'saved' } | { kind: 'rejected'; message: string };
}

/**
 * The parts of a video's page that change while it is open: the page renders them, and the live routes send them
 * again when they change (`live.ts`), so the page's script replaces them in place — never the name and description
 * forms. The owner's choices are a part too, their forms without a CSRF token (`csrf` empty): the token is each
 * page's own, so the page renders them with it, hashed without it, and the script fills it in (video-live.js).
 */
function videoPageParts(video: CreatorVideo, canRetry: boolean, csrf = ''): VideoPageParts {
  const title = video.name || 'Untitled video';
  const heading = html`<h1>${title}</h1>
    <p>
      ${statusBadge(video)}
      <span class="muted">${video.viewCount} ${video.viewCount === 1 ? 'view' : 'views'}</span>
    </p>`;
  const media =
    video.status === 'failed'
      ? html`<div class="alert error" role="alert">${failureSentence(video)}</div>`
      : video.status === 'published'
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
        : // Without scripts nothing refreshes a page with forms on it (it would lose what is typed): a link does.
          html`<p class="muted">
            We are transcoding your video. It shows here once it can be watched.
            <a href="/creators-portal/videos/${video.id}">Check again</a>
          </p>`;
  const about = html`${video.description ? html`<p class="description">${video.description}</p>` : ''}
  ${
    video.transcription
      ? html`<details>
          <summary>Transcript</summary>
          <p>${video.transcription}</p>
        </details>`
      : ''
  }
  ${video.transcriptionFailure ? html`<p class="muted">No transcript: ${video.transcriptionFailure}</p>` : ''}`;
  const choices = html`${videoChoices(video, csrf, canRetry)}`;
  return { title, parts: { heading, media, about, choices } };
}

/** Whether a failed video can be tried again: its upload is still in storage. */
const retryPossible = async (storage: Storage, video: CreatorVideo) =>
  video.status === 'failed' && (await sourceKept(storage, video));

/** A part of the page the script may replace (`data-live-part`), with the hash of its markup (as sent live). */
const livePart = (name: string, markup: SafeHtml, attributes: SafeHtml = html``, hashed: SafeHtml = markup) =>
  html`<div data-live-part="${name}" data-live-hash="${hashOf(hashed)}" ${attributes}>${markup}</div>`;

async function renderVideo(
  reply: FastifyReply,
  video: CreatorVideo,
  storage: Storage,
  sent?: TextFormState,
  statusCode = 200,
) {
  const csrf = reply.csrfToken();
  const retry = await retryPossible(storage, video);
  const { title, parts } = videoPageParts(video, retry);
  const choices = videoPageParts(video, retry, csrf).parts.choices!;
  const errors: FormError[] =
    sent?.state.kind === 'rejected' ? [{ field: TEXT_FORMS[sent.action].id, message: sent.state.message }] : [];
  return reply.page(
    titleWithErrors(title, errors),
    html`${errorSummary(errors)}
      <div data-live-video="${video.id}" data-video-status="${video.status}">
        <section class="card">
          <p><a href="/creators-portal">← My videos</a></p>
          ${livePart('heading', parts.heading!)} ${livePart('media', parts.media!, html`aria-live="polite"`)}
          ${livePart('about', parts.about!)}
        </section>
        <section class="card">${textForm(csrf, video, 'name', sent)}</section>
        <section class="card">${textForm(csrf, video, 'describe', sent)}</section>
        ${livePart('choices', choices, html``, parts.choices)}
      </div>`,
    statusCode,
    { head: LIVE_SCRIPT },
  );
}

/**
 * The form naming or describing the video. Its message (`…-message`) says where a request stands: the page's
 * script writes into it, and a page sent back without JavaScript has it written already, with the text kept and,
 * while the outcome is not known, a "Check again" button sending the same form to ask (nothing is written then).
 */
function textForm(csrf: string, video: CreatorVideo, action: keyof typeof TEXT_FORMS, sent?: TextFormState) {
  const form = TEXT_FORMS[action];
  const mine = sent?.action === action ? sent : undefined;
  const value = mine ? mine.value : action === 'name' ? video.name : video.description;
  const state = mine?.state;
  const message =
    state?.kind === 'saving'
      ? 'Saving…'
      : state?.kind === 'saved'
        ? form.saved
        : state?.kind === 'rejected'
          ? state.message
          : '';
  const messageClass =
    state?.kind === 'rejected' ? 'field-error' : state?.kind === 'saved' ? 'form-status ok' : 'form-status';
  const fieldAttributes = html`id="${form.id}" name="${form.field}" maxlength="${form.maxLength}"
  aria-describedby="${form.id}-hint ${form.id}-message" ${state?.kind === 'rejected' ? html`aria-invalid="true"` : ''}`;
  return html`<form
    method="post"
    action="/creators-portal/videos/${video.id}/${action}"
    class="stack"
    data-live-form="${action}"
    data-saved="${form.saved}"
    data-failed="We could not send that. Check your connection and try again."
  >
    <input type="hidden" name="_csrf" value="${csrf}" />
    <div class="field">
      <label for="${form.id}">${form.label}</label>
      ${
        action === 'name'
          ? html`<input type="text" ${fieldAttributes} value="${value}" />`
          : html`<textarea rows="5" ${fieldAttributes}>${value}</textarea>`
      }
      <p class="field-hint" id="${form.id}-hint">Up to ${form.maxLength.toLocaleString('en')} characters.</p>
      <p class="${messageClass}" id="${form.id}-message" role="status">${message}</p>
    </div>
    <div class="form-buttons">
      <button type="submit">${form.button}</button>
      ${
        state?.kind === 'saving'
          ? html`<button type="submit" class="secondary" name="check" value="${state.traceId}">Check again</button>`
          : ''
      }
    </div>
  </form>`;
}
