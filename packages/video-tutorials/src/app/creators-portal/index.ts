import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Message, MessageMetadata, MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
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
  videoPublishingCommandStreamName,
} from '../../contracts/video-publishing.js';
import type { Storage } from '../../storage.js';
import { titleWithErrors, type FormError } from '../../web/forms.js';
import { html } from '../../html.js';
import { requireUser } from '../../web/guards.js';
import { videoTitle } from '../../web/video-card.js';
import { pageQuery, refusePage } from '../../web/pagination.js';
import type { KeysetPage, PageRequest } from '../../view-data/keyset-pages.js';
import { eventStreams, outcomeOf, registerLiveVideoRoutes } from './live.js';
import { ownedVideo, videoParams } from './requests.js';
import { sniffVideoContainer } from './video-files.js';
import { registerVideoActions, sourceKept } from './video-actions.js';
import { myVideosPage, tooLargeMessage, UPLOAD_FIELD_ID, uploadReceivedPage } from './views/my-videos.js';
import { operationOutcome, operationPending } from './views/operations.js';
import {
  deletedVideoPage,
  LIVE_SCRIPT,
  TEXT_FORMS,
  textFormErrors,
  videoPage,
  videoPageParts,
  type TextFormState,
} from './views/video-page.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { zodRoutes } from '../../web/input.js';

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

/** An operation's address: its trace id, or null for anything else (answered 404). */
const operationParams = z.object({ traceId: z.uuid().nullable().catch(null) });
/** `?uploaded=1`: the video's page asked for just after its upload, before View Data may have it. */
const videoPageQuery = z.object({
  uploaded: z
    .literal('1')
    .transform(() => true)
    .catch(false),
});

/** A form field as typed: text, or empty when it is missing or not text. */
const typedText = z.string().catch('');

/**
 * A name or description form as posted, whatever it holds (the route checks it): the text of its field, and
 * `check`, the trace id "Check again" asks about — undefined when not asked, null when not a trace id. Other
 * fields (the CSRF token) are kept for the server's checks.
 */
const textFormBody = z
  .looseObject({
    name: typedText,
    description: typedText,
    check: z
      .unknown()
      .optional()
      .transform((check) => (check === undefined ? undefined : (z.uuid().safeParse(check).data ?? null))),
  })
  .catch({ name: '', description: '', check: undefined });

/** The creators portal (the book's chapters 10–11): my videos, uploads, naming and describing. */
export function createCreatorsPortalApp(options: CreatorsPortalOptions): FastifyPluginAsync {
  const { store, viewData } = options;
  const receiving = new Map<string, number>();
  return async (plugin) => {
    await removeAbandonedUploads(options.storage.directory);

    // Routes validated by their zod schemas, typed by them (this plugin's routes only). Every schema takes any
    // input: a failed validation would answer before the guard below.
    const app = zodRoutes(plugin);
    // Encapsulated: guards every route of this plugin, however its URL was spelled.
    app.addHook('preHandler', requireUser);
    registerVideoActions(app, options);
    const serveEvents = eventStreams(app);
    registerLiveVideoRoutes(app, {
      viewData,
      pageParts: async (video) => videoPageParts(video, await retryPossible(options.storage, video)),
      serve: serveEvents,
    });

    app.get(
      '/creators-portal',
      { schema: { querystring: pageQuery({ defaultSize: MY_VIDEOS_PAGE_SIZE, maxSize: MY_VIDEOS_MAX_PAGE_SIZE }) } },
      async (request, reply) => {
        const asked = request.query;
        if ('refusal' in asked)
          return refusePage(reply, asked.refusal, { href: '/creators-portal', label: 'Back to my videos' });
        const videos = await pageOfVideosOfOwner(viewData, request.user!.userId, asked.request);
        return renderDashboard(reply, videos, options.maxUploadBytes, [], 200, asked.request.size);
      },
    );

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

    app.get(
      '/creators-portal/videos/:videoId',
      { schema: { params: videoParams, querystring: videoPageQuery } },
      async (request, reply) => {
        const video = await ownedVideo(viewData, request);
        if (video) return renderVideo(reply, video, options.storage);
        // Just uploaded: the portal's View Data may not have the video yet. Once it has, the script opens the
        // video's page; without scripts this page, which has no form to lose, refreshes itself.
        const { videoId } = request.params;
        if (videoId === null) return reply.callNotFound();
        if (await isDeletedVideoOfOwner(viewData, request.user!.userId, videoId))
          return reply.view({ title: 'Video deleted', body: deletedVideoPage() }, 410);
        if (request.query.uploaded)
          return reply.view({
            title: 'Upload received',
            body: uploadReceivedPage(videoId),
            head: html`<noscript><meta http-equiv="refresh" content="2" /></noscript> ${LIVE_SCRIPT}`,
          });
        return reply.callNotFound();
      },
    );

    app.post(
      '/creators-portal/videos/:videoId/name',
      { schema: { params: videoParams, body: textFormBody }, bodyLimit: formBodyLimitFor(TEXT_FORMS.name.maxLength) },
      async (request, reply) =>
        changeText(request, reply, 'name', (videoId, name, metadata) =>
          NameVideo.create({ videoId, name }, { metadata }),
        ),
    );

    app.post(
      '/creators-portal/videos/:videoId/describe',
      {
        schema: { params: videoParams, body: textFormBody },
        bodyLimit: formBodyLimitFor(TEXT_FORMS.describe.maxLength),
      },
      async (request, reply) =>
        changeText(request, reply, 'describe', (videoId, description, metadata) =>
          DescribeVideo.create({ videoId, description }, { metadata }),
        ),
    );

    app.get('/creators-portal/operations/:traceId', { schema: { params: operationParams } }, async (request, reply) => {
      const { traceId } = request.params;
      if (traceId === null) return reply.callNotFound();
      const operation = await findAnsweredOperation(viewData, traceId, request.user!.userId);
      if (!operation)
        return reply.view({
          title: 'Working on it',
          body: operationPending(traceId),
          head: html`<noscript><meta http-equiv="refresh" content="2" /></noscript>
            <script src="/assets/operation.js" defer></script>`,
        });
      // A deleted video has no page to go back to (410): back to the list. An outcome recorded before the answer's
      // type was kept is told by the video's row.
      const deleted =
        operation.answerType === VideoDeleted.type ||
        (operation.answerType === null &&
          operation.succeeded &&
          (await isDeletedVideoOfOwner(viewData, request.user!.userId, operation.videoId)));
      return reply.view({
        title: operation.succeeded ? 'Done' : 'Not done',
        body: operationOutcome({
          succeeded: operation.succeeded,
          failureReason: operation.failureReason,
          videoId: operation.videoId,
          deleted,
        }),
      });
    });

    // Server-sent events: the outcome is pushed as soon as the aggregator has it. A stream ends when the
    // outcome is sent, after a minute, when View Data fails, and when the server closes.
    app.get(
      '/creators-portal/operations/:traceId/events',
      { schema: { params: operationParams } },
      async (request, reply) => {
        const { traceId } = request.params;
        if (traceId === null) return reply.callNotFound();
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
      },
    );
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
   * A video's name or description form sent: the owner's text goes to video-publishing as `commandOf` makes it,
   * or "Check again" shows where an earlier change stands.
   */
  async function changeText(
    request: FastifyRequest & {
      params: z.output<typeof videoParams>;
      body: z.output<typeof textFormBody>;
    },
    reply: FastifyReply,
    action: keyof typeof TEXT_FORMS,
    commandOf: (videoId: string, text: string, metadata: MessageMetadata) => Message<'NameVideo' | 'DescribeVideo'>,
  ) {
    const form = TEXT_FORMS[action];
    const video = await ownedVideo(viewData, request);
    if (!video) return reply.callNotFound();
    const { check } = request.body;
    // Browsers send a textarea's line breaks as CRLF, but count each as one character (as maxlength does).
    const value = request.body[form.field].replace(/\r\n?/g, '\n');
    const wantsJson = (request.headers.accept ?? '').includes('application/json');
    const { userId } = request.user!;
    // "Check again" (a page without JavaScript): where an earlier request stands; nothing is written.
    if (check !== undefined) {
      if (check === null) return reply.code(400).send({ error: 'Bad Request' });
      const operation = await findOperation(viewData, check, userId);
      const state: TextFormState['state'] =
        operation?.videoId !== video.id
          ? { kind: 'saving', traceId: check }
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
  }
}

type Upload =
  | { ok: true; videoId: string; sourceUri: string }
  /** `aboutTheFile`: the file chosen is the problem, not the user's uploads in flight or their quota. */
  | { ok: false; statusCode: number; error: string; aboutTheFile: boolean };

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
  return reply.view(
    {
      title: titleWithErrors('My videos', errors),
      body: myVideosPage({
        page,
        csrfToken: reply.csrfToken(),
        maxUploadBytes,
        errors,
        size: size === MY_VIDEOS_PAGE_SIZE ? null : size,
      }),
      head: html`<script src="/assets/upload.js" defer></script>`,
    },
    statusCode,
  );
}

/**
 * The body a form of `maxLength` characters may take: each a 4-byte UTF-8 character percent-encoded (12 bytes),
 * and room for the CSRF token and field names. Text at the limit is accepted, however it is written.
 */
const formBodyLimitFor = (maxLength: number) => maxLength * 12 + 4096;

/** Whether a failed video can be tried again: its upload is still in storage. */
const retryPossible = async (storage: Storage, video: CreatorVideo) =>
  video.status === 'failed' && (await sourceKept(storage, video));

async function renderVideo(
  reply: FastifyReply,
  video: CreatorVideo,
  storage: Storage,
  sent?: TextFormState,
  statusCode = 200,
) {
  const canRetry = await retryPossible(storage, video);
  return reply.view(
    {
      title: titleWithErrors(videoTitle(video), textFormErrors(sent)),
      body: videoPage({ video, canRetry, csrfToken: reply.csrfToken(), sent }),
      head: LIVE_SCRIPT,
    },
    statusCode,
  );
}
