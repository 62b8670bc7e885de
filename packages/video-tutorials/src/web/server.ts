import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { html, type SafeHtml } from './html.js';
import { layout, type PageContext } from './layout.js';

export interface SessionUser {
  userId: string;
  email: string;
  /** Whether the address is confirmed, when known (pages remind the user otherwise). */
  emailConfirmed?: boolean;
}

/** Where sessions are kept: the signed cookie carries only a session id, looked up on every request. */
export interface SessionKeeper {
  /** Starts a session for `user`: its id. */
  start(user: SessionUser, traceId: string): Promise<string>;
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
    /** Renders a page in the shared layout. */
    page(title: string, body: SafeHtml, statusCode?: number, options?: { head?: SafeHtml }): FastifyReply;
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
}

const SESSION_COOKIE = 'session';
const publicDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public');

/** The one web server all applications mount on, with what every page needs. */
export async function buildWebServer(options: WebServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.loggerInstance ? { loggerInstance: options.loggerInstance } : { logger: options.logger ?? false }),
    // Request log lines name the request id `traceId`, as the messages it writes do.
    logController: new LogController({ requestIdLogLabel: 'traceId' }),
    bodyLimit: 64 * 1024,
    trustProxy: true,
    genReqId: () => randomUUID(),
  });
  options.operations?.(app);

  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: { defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], mediaSrc: ["'self'"], formAction: ["'self'"] },
    },
  });
  await app.register(fastifyCookie, { secret: options.cookieSecret });
  await app.register(fastifyCsrf, {
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'lax', secure: options.secureCookies, path: '/' },
    // A form field, a header (background requests), or the query of a multipart upload,
    // whose body is streamed to storage rather than parsed before this check.
    getToken: (request) => {
      const body = request.body as { _csrf?: unknown } | undefined;
      const query = request.query as { _csrf?: unknown } | undefined;
      const header = request.headers['x-csrf-token'];
      const token = body?._csrf ?? header ?? query?._csrf;
      return typeof token === 'string' ? token : '';
    },
  });
  await app.register(fastifyMultipart, { limits: { fields: 10, files: 1, fieldSize: 16 * 1024 } });
  await app.register(fastifyFormbody, { bodyLimit: 16 * 1024 });
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

  const tokens = new WeakMap<FastifyReply, string>();
  app.decorateReply('csrfToken', function (this: FastifyReply) {
    let token = tokens.get(this);
    if (!token) tokens.set(this, (token = this.generateCsrf()));
    return token;
  });
  app.decorateReply(
    'page',
    function (
      this: FastifyReply,
      title: string,
      body: SafeHtml,
      statusCode = 200,
      pageOptions: { head?: SafeHtml } = {},
    ) {
      const context: PageContext = {
        appName: options.appName,
        user: this.request.user,
        csrfToken: this.csrfToken(),
        currentPath: this.request.url.split('?')[0] ?? '/',
      };
      return this.code(statusCode)
        .type('text/html; charset=utf-8')
        .send(layout(context, { title, body, ...pageOptions }).toString());
    },
  );
  app.decorateReply('signIn', async function (this: FastifyReply, user: SessionUser) {
    if (!options.sessions) throw new Error('No sessions are kept: pass `sessions` to buildWebServer');
    const sessionId = await options.sessions.start(user, this.request.traceId);
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
  });

  app.setNotFoundHandler((request, reply) =>
    reply.page(
      'Not found',
      html`<div class="card narrow">
        <h1>Page not found</h1>
        <p class="muted">There is nothing at ${request.url.split('?')[0]}.</p>
        <a class="button" href="/">Go home</a>
      </div>`,
      404,
    ),
  );

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed'); // request.log carries traceId
    const message =
      statusCode === 403 && error.code?.startsWith('FST_CSRF')
        ? 'This form has expired or did not come from this site. Please go back, reload the page and try again.'
        : statusCode === 413
          ? 'What you sent is too large.'
          : statusCode === 429
            ? 'Too many attempts. Please wait a minute and try again.'
            : statusCode < 500
              ? 'The request could not be understood.'
              : 'Something went wrong on our side. It has been logged.';
    return reply.page(
      statusCode >= 500 ? 'Error' : 'Cannot do that',
      html`<div class="card narrow">
        <h1>${statusCode >= 500 ? 'Something went wrong' : 'We could not do that'}</h1>
        <div class="alert error" role="alert">${message}</div>
        <p class="muted">Reference: <code class="reference">${request.traceId}</code></p>
        <a class="button" href="/">Go home</a>
      </div>`,
      statusCode,
    );
  });

  app.get('/health', async () => ({ status: 'ok' }));
  for (const application of options.applications) await app.register(application);
  return app;
}

const sessionIdFormat = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The session the signed cookie names, if it is still open (static files need none). */
async function readSession(request: FastifyRequest, sessions: SessionKeeper | undefined) {
  const cookie = request.cookies[SESSION_COOKIE];
  if (!cookie || !sessions || request.url.startsWith('/assets/')) return;
  const unsigned = request.unsignCookie(cookie);
  if (!unsigned.valid || unsigned.value === null || !sessionIdFormat.test(unsigned.value)) return;
  const user = await sessions.find(unsigned.value, request.traceId);
  if (!user) return;
  request.user = user;
  request.sessionId = unsigned.value;
}

/** A preHandler for routes that need a signed-in user: others go to the log-in page. */
export async function requireUser(request: FastifyRequest, reply: FastifyReply) {
  if (!request.user) return reply.redirect(`/auth/log-in?returnTo=${encodeURIComponent(request.url)}`);
}
