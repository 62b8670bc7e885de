import { createHash } from 'node:crypto';
import { isTransientDatabaseError, type Queryable } from 'message-db-toolkit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findVideoOfOwner, type CreatorVideo } from '../../aggregators/creators-videos/index.js';
import { findOperation, type VideoOperation } from '../../aggregators/video-operations/index.js';
import type { SafeHtml } from '../../html.js';
import { ownedVideo, videoParams, type PortalApp } from './requests.js';

/**
 * The live parts of the creators portal: a video's page kept up to date while its owner has it open — its status,
 * poster or player, name and description, and the outcome of the naming and describing they asked for — over
 * server-sent events, or by asking now and then (`/status`) where a browser has no EventSource.
 */

/** The parts of a video's page that change while it is open, as the page renders them, and its title. */
export interface VideoPageParts {
  title: string;
  parts: Record<string, SafeHtml>;
}

/** What the page's script is sent: each part with a hash of its markup, so it replaces only what changed. */
export interface LiveVideo {
  status: CreatorVideo['status'];
  title: string;
  parts: Record<string, { hash: string; html: string }>;
}

/** The outcome of a naming or describing request: saved, or the reason it was not, as a sentence. */
export interface Outcome {
  traceId: string;
  succeeded: boolean;
  message: string | null;
}

/** Event streams one user may have open at once (in this process): a few tabs, and a stream being replaced. */
export const MAX_LIVE_STREAMS_PER_USER = 6;
/** Trace ids one request may ask the outcome of. */
const MAX_AWAITED = 5;
/** Lookups in a row that may fail for a lost connection before a stream ends. */
const MAX_LOST_LOOKUPS = 8;
/**
 * A video's stream ends after this long and the browser opens it again, so that a session ended meanwhile (log-out
 * elsewhere, expiry) is noticed.
 */
const LIVE_STREAM_LIFETIME_MS = 10 * 60_000;
const LIVE_STREAM_INTERVAL_MS = 500;

/** `?awaiting=…&awaiting=…`: the trace ids of the requests awaited, well-formed ones only, a few at most. */
const awaitingQuery = z.object({
  awaiting: z
    .preprocess(
      (value): unknown[] => (Array.isArray(value) ? value : [value]),
      z.array(z.uuid().nullable().catch(null)),
    )
    .transform((traceIds) => [...new Set(traceIds.filter((traceId) => traceId !== null))].slice(0, MAX_AWAITED)),
});

export const liveStateOf = (page: VideoPageParts, status: CreatorVideo['status']): LiveVideo => ({
  status,
  title: page.title,
  parts: Object.fromEntries(
    Object.entries(page.parts).map(([name, markup]) => [name, { hash: hashOf(markup), html: markup.toString() }]),
  ),
});

/** A short hash of a part's markup: the page carries it (`data-live-hash`), the script compares it. */
export const hashOf = (markup: SafeHtml) =>
  createHash('sha256').update(markup.toString()).digest('base64url').slice(0, 16);

/** A component's reason (`name is blank`) as a sentence for a page: `Name is blank.` */
export function asSentence(reason: string): string {
  const text = reason.trim();
  if (text === '') return 'It was not accepted.';
  const capitalized = text[0]!.toUpperCase() + text.slice(1);
  return /[.!?…]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

export const outcomeOf = (operation: VideoOperation): Outcome => ({
  traceId: operation.traceId,
  succeeded: operation.succeeded,
  message: operation.succeeded ? null : asSentence(operation.failureReason ?? ''),
});

/** The outcome of each awaited request that has one, if it was about this video and asked by this user. */
async function outcomesOf(viewData: Queryable, userId: string, videoId: string, traceIds: string[]) {
  const found = await Promise.all(traceIds.map((traceId) => findOperation(viewData, traceId, userId)));
  return found.filter((operation) => operation?.videoId === videoId).map((operation) => outcomeOf(operation!));
}

/** What one look at View Data did: the stream goes on, or is done. */
type Look = (send: (event: string, data: unknown) => void) => Promise<'go on' | 'done'>;

export interface EventStreamOptions {
  /** Time between looks. */
  intervalMs: number;
  /** The stream ends after this long (the browser may open it again). */
  lifetimeMs: number;
  /** The browser waits this long before opening a stream again that ended. */
  retryMs?: number;
  look: Look;
}

/**
 * Serves server-sent event streams, each looking at View Data every `intervalMs` and sending what it finds. A
 * stream ends when its look is done, after its lifetime, when the browser goes, when View Data keeps failing (a
 * connection lost for a moment is asked again) and when the server closes. The caller looks once before
 * (`serve`), so that an unreachable database still answers 503 with Retry-After rather than an empty stream.
 */
export function eventStreams(app: FastifyInstance) {
  const ends = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of ends) end();
    done();
  });
  return async function serve(request: FastifyRequest, reply: FastifyReply, options: EventStreamOptions) {
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // a proxy (nginx) passes each event on at once
    });
    if (options.retryMs) reply.raw.write(`retry: ${options.retryMs}\n\n`);
    let closed = false;
    let wake = () => {};
    const end = () => {
      closed = true;
      wake();
    };
    ends.add(end);
    request.raw.on('close', end);
    const deadline = Date.now() + options.lifetimeMs;
    const send = (event: string, data: unknown) =>
      reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let lostLookups = 0;
    try {
      while (!closed && Date.now() < deadline) {
        let result: 'go on' | 'done' = 'go on';
        try {
          result = await options.look(send);
          lostLookups = 0;
        } catch (error) {
          // A connection lost for a moment: keep the stream open and look again. A lasting outage ends it.
          if (!isTransientDatabaseError(error) || ++lostLookups >= MAX_LOST_LOOKUPS) throw error;
        }
        if (result === 'done' || closed) break;
        reply.raw.write(': waiting\n\n');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, options.intervalMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    } catch (error) {
      // The page falls back to asking in the background, which shows the error if the failure lasts.
      request.log.error({ err: error }, 'event stream failed');
    } finally {
      ends.delete(end);
      reply.raw.end();
    }
  };
}

export type ServeEvents = ReturnType<typeof eventStreams>;

export interface LiveVideoOptions {
  viewData: Queryable;
  /** The parts of the video's page that change, rendered as the page renders them. */
  pageParts: (video: CreatorVideo) => Promise<VideoPageParts>;
  serve: ServeEvents;
  maxStreamsPerUser?: number;
}

/**
 * `GET /creators-portal/videos/:videoId/events`: the owner's event stream of a video — `video` when its page's
 * parts change (and once at the start), `outcome` for each awaited naming or describing request once it has one.
 * `GET /creators-portal/videos/:videoId/status`: the same, asked once (`absent` for a video that is not the user's,
 * or not in View Data yet: just uploaded). Both take the trace ids awaited as `?awaiting=`. Registered inside the
 * portal's plugin, so its guard (signed-in users only) applies.
 */
export function registerLiveVideoRoutes(app: PortalApp, options: LiveVideoOptions) {
  const { viewData, pageParts, serve } = options;
  const maxStreams = options.maxStreamsPerUser ?? MAX_LIVE_STREAMS_PER_USER;
  const streamsOf = new Map<string, number>();
  const schema = { params: videoParams, querystring: awaitingQuery };

  app.get('/creators-portal/videos/:videoId/status', { schema }, async (request, reply) => {
    if (request.params.videoId === null) return reply.callNotFound();
    reply.header('cache-control', 'no-store');
    const video = await ownedVideo(viewData, request);
    if (!video) return reply.send({ status: 'absent' });
    const outcomes = await outcomesOf(viewData, request.user!.userId, video.id, request.query.awaiting);
    return reply.send({ ...liveStateOf(await pageParts(video), video.status), outcomes });
  });

  app.get('/creators-portal/videos/:videoId/events', { schema }, async (request, reply) => {
    const { userId } = request.user!;
    // Asked before the stream opens: another user's video is not found, and a database down answers 503.
    let video = await ownedVideo(viewData, request);
    if (!video) return reply.callNotFound();
    const open = streamsOf.get(userId) ?? 0;
    if (open >= maxStreams)
      return reply
        .code(429)
        .header('retry-after', '30')
        .send({ error: 'Too Many Requests', message: 'Too many pages are following your videos at once.' });
    streamsOf.set(userId, open + 1);
    const awaited = new Set(request.query.awaiting);
    const videoId = video.id;
    let sent: string | null = null;
    try {
      await serve(request, reply, {
        intervalMs: LIVE_STREAM_INTERVAL_MS,
        lifetimeMs: LIVE_STREAM_LIFETIME_MS,
        retryMs: 3000,
        look: async (send) => {
          video ??= await findVideoOfOwner(viewData, userId, videoId);
          if (!video) return 'done'; // no longer the user's (or no longer there)
          const live = liveStateOf(await pageParts(video), video.status);
          const state = JSON.stringify(live);
          if (state !== sent) send('video', live);
          sent = state;
          for (const outcome of await outcomesOf(viewData, userId, video.id, [...awaited])) {
            send('outcome', outcome);
            awaited.delete(outcome.traceId);
          }
          video = null; // looked up again next time
          return 'go on';
        },
      });
    } finally {
      const left = (streamsOf.get(userId) ?? 1) - 1;
      if (left > 0) streamsOf.set(userId, left);
      else streamsOf.delete(userId);
    }
  });
}
