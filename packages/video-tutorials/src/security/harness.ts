import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { createAuthenticateApp } from '../app/authenticate/index.js';
import { createSessions } from '../app/authenticate/sessions.js';
import { createCreatorsPortalApp } from '../app/creators-portal/index.js';
import { readConfig, type Config } from '../config.js';
import { hashPassword } from '../passwords.js';
import { createStorage, type Storage } from '../storage.js';
import { webServerOptions } from '../system.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { browserSession } from '../test-support/browser-session.js';
import { buildWebServer, type WebServerOptions } from '../web/server.js';

export const COOKIE_SECRET = 'a-cookie-secret-for-the-security-tests-0123456789';
export const PASSWORD = 'a password for the security tests';

export interface Route {
  method: string;
  url: string;
}

/**
 * The web server as production wires it (`webServerOptions`, `NODE_ENV=production`), on a test database,
 * with every route Fastify registers recorded — and every time a route's handler runs — so a test can
 * go through all of them and tell whether a request got past the guards.
 */
export async function startWebUnderAttack(
  env: NodeJS.ProcessEnv = {},
  customize: (options: WebServerOptions) => WebServerOptions = (options) => options,
) {
  const directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-security-'));
  const adminEmail = `admin-${randomUUID().slice(0, 8)}@example.com`;
  const config: Config = readConfig({
    NODE_ENV: 'production',
    COOKIE_SECRET,
    DATA_DIRECTORY: directory,
    ADMIN_EMAILS: adminEmail,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const test: TestDatabase & { store: MessageStore } = await createSystemTestDatabase();
  const storage: Storage = createStorage(config.storageDirectory);
  const routes: Route[] = [];
  const reached: Route[] = [];
  const options = webServerOptions(config, {
    store: test.store,
    viewData: test.db,
    storage,
    cookieSecret: COOKIE_SECRET,
  });
  const app: FastifyInstance = await buildWebServer(
    customize({
      ...options,
      operations: (server) =>
        server.addHook('onRoute', (route: RouteOptions) => {
          const methods = Array.isArray(route.method) ? route.method : [route.method];
          const original = route.handler;
          for (const method of methods) routes.push({ method, url: route.url });
          route.handler = function (this: FastifyInstance, request, reply) {
            reached.push({ method: request.method, url: route.url });
            return original.call(this, request, reply);
          };
        }),
    }),
  );
  const passwordHash = await hashPassword(PASSWORD);

  async function addUser(email = `user-${randomUUID().slice(0, 8)}@example.com`) {
    const userId = randomUUID();
    // Confirmed, so that the admin among them has the admin role.
    await test.db.query(
      'INSERT INTO user_credentials (id, email, password_hash, email_confirmed) VALUES ($1, $2, $3, true)',
      [userId, email, passwordHash],
    );
    return { userId, email };
  }

  /**
   * A video in View Data as the aggregators would have it, with its files in storage: processing,
   * published (also in the catalogue) or failed.
   */
  async function addVideo(
    ownerId: string,
    { status = 'published', bytes = 1024 }: { status?: 'processing' | 'published' | 'failed'; bytes?: number } = {},
  ) {
    const videoId = randomUUID();
    const uri = (key: string) => storage.uriOf(key);
    const sourceUri = uri(`uploads/${videoId}.mp4`);
    const transcodedUri = status === 'published' ? uri(`transcoded/${videoId}.mp4`) : null;
    const posterUri = uri(`posters/${videoId}.jpg`);
    for (const [file, size] of [
      [sourceUri, bytes],
      [transcodedUri, bytes],
      [posterUri, 64],
    ] as const) {
      if (!file) continue;
      await mkdir(path.dirname(storage.pathOf(file)), { recursive: true });
      await writeFile(storage.pathOf(file), Buffer.alloc(size, 1));
    }
    await test.db.query(
      `INSERT INTO creators_portal_videos (id, owner_id, status, source_uri, transcoded_uri, poster_uri, uploaded_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())`,
      [videoId, ownerId, status, sourceUri, transcodedUri, posterUri],
    );
    if (status === 'published')
      await test.db.query(
        `INSERT INTO video_catalogue (id, owner_id, name, transcoded_uri, poster_uri, published_at)
         VALUES ($1, $2, 'A tutorial', $3, $4, now())`,
        [videoId, ownerId, transcodedUri, posterUri],
      );
    return { videoId, sourceUri, transcodedUri, posterUri };
  }

  let admin: ReturnType<typeof addUser> | undefined;
  /** A browser: anonymous, or signed in as a new user or as the admin. Each has a CSRF token already. */
  async function browser(as: 'anonymous' | 'user' | 'admin', remoteAddress = '127.0.0.1') {
    const session = browserSession(app, { remoteAddress });
    const user = as === 'anonymous' ? null : as === 'admin' ? await (admin ??= addUser(adminEmail)) : await addUser();
    await session.get('/auth/log-in');
    if (user) {
      const response = await session.post('/auth/log-in', { email: user.email, password: PASSWORD });
      if (response.statusCode !== 303) throw new Error(`log-in as ${as} answered ${response.statusCode}`);
      await session.get('/auth/log-in');
    }
    return Object.assign(session, { user });
  }

  /**
   * A web server of its own with the creators portal on `viewData` (one that fails when a test says so), and a new
   * user signed in to it.
   */
  async function portalOn(viewData: Queryable) {
    const portal = await buildWebServer({
      appName: 'Video Tutorials',
      cookieSecret: COOKIE_SECRET,
      secureCookies: false,
      sessions: createSessions({ store: test.store, viewData: test.db }),
      applications: [
        createAuthenticateApp({ store: test.store, viewData: test.db }),
        createCreatorsPortalApp({ store: test.store, viewData, storage, maxUploadBytes: 1024 }),
      ],
    });
    const user = await addUser();
    const session = browserSession(portal);
    await session.get('/auth/log-in');
    await session.post('/auth/log-in', { email: user.email, password: PASSWORD });
    return { app: portal, browser: session, user };
  }

  return {
    app,
    config,
    test,
    store: test.store,
    viewData: test.db,
    storage,
    routes,
    reached,
    adminEmail,
    addUser,
    addVideo,
    browser,
    portalOn,
    /** Every file under the storage directory, relative to it. */
    async filesInStorage(): Promise<string[]> {
      const entries = await readdir(storage.directory, { recursive: true, withFileTypes: true }).catch(() => []);
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(storage.directory, path.join(entry.parentPath, entry.name)))
        .sort();
    },
    async close() {
      await app.close();
      await test.drop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export type WebUnderAttack = Awaited<ReturnType<typeof startWebUnderAttack>>;

/** The first bytes of an MP4 file: enough for the upload's sniffing to take it for a video. */
export const MP4_HEAD = Buffer.concat([
  Buffer.from([0, 0, 0, 0x18]),
  Buffer.from('ftypisom'),
  Buffer.alloc(4),
  Buffer.from('isomiso2'),
  Buffer.alloc(2048, 1),
]);
