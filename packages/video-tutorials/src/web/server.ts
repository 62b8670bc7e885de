import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import helmet from 'helmet';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isTransientDatabaseError } from 'message-db-toolkit';
import { z } from 'zod';
import { isAdmin } from './guards.js';
import { backInAMomentPage, errorPage, notFoundPage } from './error-pages.js';
import { layout, type PageContext, type PageOptions } from './layout.js';
import { InvalidTextError, refuseInvalidText } from './text-input.js';

export { requireUser } from './guards.js';

export interface SessionUser {
  userId: string;
  email: string;
  /** Whether the address is confirmed, when known (pages remind the user otherwise). */
  emailConfirmed?: boolean;
}

/** Where sessions are kept: the signed cookie carries only a session id, looked up on every request. */
export interface SessionKeeper {
  /** Starts a session for `user` in the browser of `userAgent` (its User-Agent header): its id. */
  start(user: SessionUser, traceId: string, userAgent?: string): Promise<string>;
  /** The user of an open session; `null` when it ended, expired, or its account was locked since. */
  find(sessionId: string, traceId: string): Promise<SessionUser | null>;
  end(sessionId: string, traceId: string): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** One per request; copied into the metadata of every message the request writes. */
    traceId: string;
    /** The signed-in user, of the open session the signed session cookie names. */
    user: SessionUser | null;
    /** That session's id. */
    sessionId: string | null;
  }
  interface FastifyReply {
    /** This response's CSRF token: made once, so every form on a page carries the same one. */
    csrfToken(): string;
    /** Renders a view's page (its title, body and what it adds to the head) in the shared layout. */
    view(page: PageView, statusCode?: number): FastifyReply;
    /** Starts a session and sets its cookie. */
    signIn(user: SessionUser): Promise<void>;
    /** Ends the request's session and clears its cookie. */
    signOut(): Promise<void>;
  }
}

export interface WebServerOptions {
  appName: string;
  cookieSecret: string;
  /** Secure cookies (HTTPS only) — on in production. */
  secureCookies: boolean;
  /**
   * The site is reached over HTTPS only — on in production: the Content-Security-Policy has browsers
   * upgrade `http:` requests (`upgrade-insecure-requests`) and `Strict-Transport-Security` is sent.
   * Off (the default), a page over plain http — a LAN address in development — loads its styles and scripts.
   */
  httpsOnly?: boolean;
  /** The applications, each a Fastify plugin. */
  applications: FastifyPluginAsync[];
  logger?: boolean | object;
  /** The system's logger (instead of `logger`): request lines carry the request's `traceId`. */
  loggerInstance?: FastifyBaseLogger;
  /** Set up first, before any hook or route: HTTP metrics and the operational routes (/metrics, /health/*). */
  operations?: (app: FastifyInstance) => void;
  /** Sessions; without them nobody can sign in. */
  sessions?: SessionKeeper;
  /** Log-in attempts allowed per client address per minute. */
  logInAttemptsPerMinute?: number;
  /**
   * Which proxies to believe about the client's address (`X-Forwarded-For`): none by default, else a
   * hop count or the proxies' addresses (`TRUST_PROXY`). Rate limits and logs use that address.
   */
  trustProxy?: false | number | string[];
  /** Users with the admin role (`ADMIN_EMAILS`): only they see the admin portal's link. */
  adminEmails?: readonly string[];
}

/** A page for the shared layout (title, body, what it adds to the head, its meta description), and how it is kept. */
export type PageView = PageOptions & {
  /**
   * An object that stands for everything this page shows a visitor who is not signed in (its body holds no form,
   * token or other per-request value): the page is then rendered once per such object and its bytes sent to every
   * such visitor. The home page passes its short-lived View Data; rendering it per request cost most of its time.
   */
  sameForEveryVisitorAs?: object;
};

/** The `_csrf` field of a parsed form or query, whatever it holds (the token must be text). */
const csrfCarrier = z.object({ _csrf: z.unknown().optional() });
const csrfField = (input: unknown) => csrfCarrier.safeParse(input).data?._csrf;

const SESSION_COOKIE = 'session';
/** What a response says to come back after while the database cannot be reached. */
export const RETRY_AFTER_SECONDS = 5;
const publicDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

/** The one web server all applications mount on, with what every page needs. */
export async function buildWebServer(options: WebServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? false }),
    // Request log lines name the request id `traceId`, as the messages it writes do.
    logController: new LogController({ requestIdLogLabel: 'traceId' }),
    bodyLimit: 64 * 1024,
    // A hop count trusts that many proxies nearest the server, as proxy-addr does with a number.
    trustProxy: typeof options.trustProxy === 'number' ? trustHops(options.trustProxy) : (options.trustProxy ?? false),
    genReqId: () => randomUUID(),
  });
  options.operations?.(app);

  const httpsOnly = options.httpsOnly ?? false;
  // Helmet's middleware, made once: @fastify/helmet made it anew for every request (its options parsed, the
  // Content-Security-Policy written out again), some 5–9% of the server's time in profiles of small pages.
  const securityHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        mediaSrc: ["'self'"],
        formAction: ["'self'"],
        // Helmet's default has it; over plain http it would send the page's assets to an https:// that is not there.
        upgradeInsecureRequests: httpsOnly ? [] : null,
      },
    },
    hsts: httpsOnly,
  });
  app.addHook('onRequest', (request, reply, done) =>
    securityHeaders(request.raw, reply.raw, (error?: unknown) => done(error as Error | undefined)),
  );
  await app.register(fastifyCookie, { secret: options.cookieSecret });
  await app.register(fastifyCsrf, {
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', secure: options.secureCookies, path: '/' },
    // A form field, a header (background requests), or the query of a multipart upload,
    // whose body is streamed to storage rather than parsed before this check.
    getToken: (request) => {
      const token = csrfField(request.body) ?? request.headers['x-csrf-token'] ?? csrfField(request.query);
      return typeof token === 'string' ? token : '';
    },
  });
  await app.register(fastifyMultipart, { limits: { fields: 10, files: 1, fieldSize: 16 * 1024 } });
  refuseInvalidText(app, { formBodyLimit: 16 * 1024 });
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyStatic, { root: publicDirectory, prefix: '/assets/', maxAge: '1h' });

  app.decorateRequest('traceId', '');
  app.decorateRequest('user', null);
  app.decorateRequest('sessionId', null);
  app.addHook('onRequest', async (request, reply) => {
    request.traceId = String(request.id);
    reply.header('x-trace-id', request.traceId);
    await readSession(request, options.sessions);
  });
  // Every state-changing request carries a valid CSRF token.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'POST') return app.csrfProtection(request, reply, done);
    done();
  });

  const admins = new Set((options.adminEmails ?? []).map((email) => email.toLowerCase()));
  const tokens = new WeakMap<FastifyReply, string>();
  app.decorateReply('csrfToken', function (this: FastifyReply) {
    let token = tokens.get(this);
    if (!token) tokens.set(this, (token = this.generateCsrf()));
    return token;
  });
  const pagesForEveryVisitor = new WeakMap<object, Buffer>();
  app.decorateReply(
    'view',
    function (this: FastifyReply, { sameForEveryVisitorAs, ...page }: PageView, statusCode = 200) {
      const send = (page: Buffer | string) => this.code(statusCode).type('text/html; charset=utf-8').send(page);
      const shared = this.request.user ? undefined : sameForEveryVisitorAs;
      const kept = shared && pagesForEveryVisitor.get(shared);
      if (kept) return send(kept);
      const csrfToken = () => this.csrfToken();
      const context: PageContext = {
        appName: options.appName,
        user: this.request.user,
        isAdmin: isAdmin(this.request.user, admins),
        // Made only if the page has a form: a page without one sets no CSRF cookie and signs nothing.
        get csrfToken() {
          return csrfToken();
        },
        currentPath: this.request.url.split('?')[0] ?? '/',
      };
      // A signed-in user's page is theirs alone: no cache, shared or in the browser, keeps it.
      if (this.request.user) this.header('cache-control', 'no-store');
      const rendered = layout(context, page).value;
      if (!shared) return send(rendered);
      // Kept as bytes: encoded once, rather than measured and encoded again for every visitor.
      const bytes = Buffer.from(rendered);
      pagesForEveryVisitor.set(shared, bytes);
      return send(bytes);
    },
  );
  app.decorateReply('signIn', async function (this: FastifyReply, user: SessionUser) {
    if (!options.sessions) throw new Error('No sessions are kept: pass `sessions` to buildWebServer');
    const sessionId = await options.sessions.start(user, this.request.traceId, this.request.headers['user-agent']);
    this.setCookie(SESSION_COOKIE, sessionId, {
      signed: true,
      httpOnly: true,
      sameSite: 'lax',
      secure: options.secureCookies,
      path: '/',
    });
  });
  app.decorateReply('signOut', async function (this: FastifyReply) {
    if (this.request.sessionId) await options.sessions?.end(this.request.sessionId, this.request.traceId);
    this.clearCookie(SESSION_COOKIE, { path: '/' });
    // A page rendered after this one is a signed-out visitor's.
    this.request.user = null;
    this.request.sessionId = null;
  });

  app.setNotFoundHandler((request, reply) => reply.view(notFoundPage({ path: request.url.split('?')[0] ?? '' }), 404));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    // The database is unreachable (an outage, a failover, a restart): a temporary state, not a fault of ours.
    if (causedByLostDatabase(error)) {
      request.log.warn({ err: error }, 'database unreachable; answered 503');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      const message = 'We cannot reach our database at the moment. Please try again in a few seconds.';
      if (!acceptsHtml(request))
        return reply.code(503).send({ error: 'Service Unavailable', message, retryAfterSeconds: RETRY_AFTER_SECONDS });
      return reply.view(backInAMomentPage({ message, traceId: request.traceId, retry: request.method === 'GET' }), 503);
    }
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed'); // request.log carries traceId
    const message =
      error instanceof InvalidTextError
        ? error.message
        : statusCode === 403 && error.code?.startsWith('FST_CSRF')
          ? 'This form has expired or did not come from this site. Please go back, reload the page and try again.'
          : statusCode === 413
            ? 'What you sent is too large.'
            : statusCode === 429
              ? 'Too many attempts. Please wait a minute and try again.'
              : statusCode < 500
                ? 'The request could not be understood.'
                : 'Something went wrong on our side. It has been logged.';
    return reply.view(errorPage({ ourFault: statusCode >= 500, message, traceId: request.traceId }), statusCode);
  });

  app.get('/health', async () => ({ status: 'ok' }));
  // Browsers ask for /favicon.ico by themselves; the icon is the SVG every page links to.
  app.get('/favicon.ico', async (_request, reply) => reply.redirect('/assets/favicon.svg', 301));
  for (const application of options.applications) await app.register(application);
  return app;
}

/** A lost or refused database connection, here or as the cause of the error. */
function causedByLostDatabase(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (isTransientDatabaseError(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** Pages for browsers; JSON for background requests (fetch, server-sent events). */
function acceptsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept === '' || accept.includes('text/html') || (accept.includes('*/*') && !accept.includes('json'));
}

const sessionIdFormat = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The session the signed cookie names, if it is still open (static files and the favicon need none). */
async function readSession(request: FastifyRequest, sessions: SessionKeeper | undefined) {
  const cookie = request.cookies[SESSION_COOKIE];
  if (!cookie || !sessions || request.url.startsWith('/assets/') || request.url === '/favicon.ico') return;
  const unsigned = request.unsignCookie(cookie);
  if (!unsigned.valid || unsigned.value === null || !sessionIdFormat.test(unsigned.value)) return;
  const user = await sessions.find(unsigned.value, request.traceId);
  if (!user) return;
  request.user = user;
  request.sessionId = unsigned.value;
}

function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}
