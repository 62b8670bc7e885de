/**
 * The composition root: the whole wiring of Video Tutorials in one place.
 * Everything else receives its dependencies from here.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createMessageStore, installMessageDb, type Database, type MessageStore } from 'message-db-toolkit';
import { createPgliteDatabase, createPgliteThreadDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createAdminApp } from './app/admin/index.js';
import { createAuthenticateApp } from './app/authenticate/index.js';
import { createCatalogueApp } from './app/catalogue/index.js';
import { createCreatorsPortalApp } from './app/creators-portal/index.js';
import { createHomeApp, SAMPLE_VIDEO_ID } from './app/home/index.js';
import { createPlaybackTokens, createRecordViewingsApp } from './app/record-viewings/index.js';
import { createRegisterUsersApp } from './app/register-users/index.js';
import { createSessions } from './app/authenticate/sessions.js';
import { countAggregatorCommits, createViewDataChanges, type ViewDataChanges } from './view-data/short-lived-cache.js';
import { createWatchApp } from './app/watch/index.js';
import { lockDataDirectory } from './data-directory-lock.js';
import { describePostgresUrl, type Config } from './config.js';
import { chooseLogFormat, createLogger, createObservability, type Observability } from './observability/index.js';
import type { Piece } from './piece.js';
import { PIECE_NAMES, selectPieces } from './pieces.js';
import { createStorage, type Storage } from './storage.js';
import { migrateViewData, SHARED_SEARCH_PATH, VIEW_DATA_SEARCH_PATH } from './view-data/migrations.js';
import { buildWebServer, type WebServerOptions } from './web/server.js';

export interface Selection {
  /** Serve the web applications. */
  web: boolean;
  /** Run components and aggregators: all of them, or only the named ones. */
  workers: boolean | string[];
}

export interface System {
  store: MessageStore;
  messageStoreDb: Database;
  viewData: Database;
  pieces: Piece[];
  web: FastifyInstance | null;
  /** In a process without the web applications: a server of only /metrics and /health, so workers can be watched. */
  operations: FastifyInstance | null;
  logger: Logger;
  /** This system's metrics registry and readiness (served at /metrics, /health/ready). */
  observability: Observability;
  stop(): Promise<void>;
}

export { PIECE_NAMES } from './pieces.js';

export async function startSystem(
  config: Config,
  selection: Selection = { web: true, workers: true },
  options: {
    logger?: Logger;
    registrationEmailLimitMs?: number;
    logInAttemptsPerMinute?: number;
    /** How long a password reset link works (identity's default: an hour). */
    passwordResetLinkTtlMs?: number;
    pgliteThread?: PgliteThread;
    /** A new embedded database starts from this dump (PGlite's `dumpDataDir`) instead of a new cluster: tests' speed. */
    pgliteTemplate?: Blob | undefined;
  } = {},
): Promise<System> {
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, format: chooseLogFormat(config.environment, process.stdout.isTTY) });
  const messageStoreDb = await openMessageStoreDatabase(config, options);
  const viewData = openViewData(config, messageStoreDb);
  const installed = await installMessageDb(messageStoreDb);
  const migrations = await migrateViewData(viewData);
  logger.info(
    {
      messageDb: installed.version,
      install: installed.action,
      viewDataMigrations: migrations.applied,
      ...(migrations.moved
        ? { viewDataMoved: `${migrations.moved.tables.length} tables from ${migrations.moved.from} to view_data` }
        : {}),
      storage: describe(config),
    },
    'storage ready',
  );
  const store = createMessageStore({ db: messageStoreDb });
  const observability = createObservability({
    messageStoreDb,
    viewData,
    logger,
    metricsToken: config.metricsToken,
  });
  const storage = createStorage(config.storageDirectory);
  const wiring = {
    config,
    store,
    viewData,
    storage,
    logger,
    // Components scale out as consumer groups whose members each process claims by itself.
    ...(config.consumerGroupSize ? { consumerGroup: { size: config.consumerGroupSize, claim: 'auto' as const } } : {}),
    ...(options.registrationEmailLimitMs ? { registrationEmailLimitMs: options.registrationEmailLimitMs } : {}),
    ...(options.passwordResetLinkTtlMs ? { passwordResetLinkTtlMs: options.passwordResetLinkTtlMs } : {}),
  };
  const chosen =
    selection.workers === false ? [] : selectPieces(selection.workers === true ? PIECE_NAMES : selection.workers);
  const pieces: Piece[] = chosen.map((piece) => piece.build(wiring));
  observability.observe(pieces);
  // What this process's aggregators commit shows at once in the web server's caches (sessions, home page).
  const viewDataChanges = createViewDataChanges();
  countAggregatorCommits(pieces, viewDataChanges);
  for (const piece of pieces) await piece.start();
  observability.started();
  if (pieces.length > 0) logger.info({ pieces: pieces.map((piece) => piece.name) }, 'workers started');

  const web = selection.web
    ? await buildWebServer({
        ...webServerOptions(config, {
          store,
          viewData,
          storage,
          cookieSecret: await cookieSecret(config),
          viewDataChanges,
          ...(options.logInAttemptsPerMinute ? { logInAttemptsPerMinute: options.logInAttemptsPerMinute } : {}),
        }),
        loggerInstance: logger,
        operations: observability.mount,
      })
    : null;
  if (web && !config.metricsToken && config.environment === 'production')
    logger.warn('METRICS_TOKEN is not set: /metrics is open to anyone who can reach this server');

  let operations: FastifyInstance | null = null;
  if (!web) {
    const operationsLogger: FastifyBaseLogger = logger;
    operations = Fastify({ loggerInstance: operationsLogger });
    observability.mount(operations);
  }

  return {
    store,
    messageStoreDb,
    viewData,
    pieces,
    web,
    operations,
    logger,
    observability,
    async stop() {
      observability.stopping();
      await web?.close();
      await operations?.close();
      // Consumers finish the message in hand and record their positions before connections close.
      await Promise.all(pieces.map((piece) => piece.stop()));
      if (viewData !== messageStoreDb) await viewData.close();
      await messageStoreDb.close();
    },
  };
}

/** How long a web process keeps what a session's reads found: another process's log-out counts within it. */
export const SESSION_CACHE_MS = 5_000;
/** How long the home page's View Data is kept: what it lags behind another process's aggregators. */
export const HOME_PAGE_CACHE_MS = 1_000;

/** The web server's settings and its applications, all wired from the configuration. */
export function webServerOptions(
  config: Config,
  {
    store,
    viewData,
    storage,
    cookieSecret,
    logInAttemptsPerMinute,
    viewDataChanges,
  }: {
    store: MessageStore;
    viewData: Database;
    storage: Storage;
    cookieSecret: string;
    logInAttemptsPerMinute?: number;
    /**
     * This process's View Data changes: given, sessions and the home page's View Data are read through short-lived
     * caches that these changes make stale at once (see "Speed" in the README). Without it, every request reads.
     */
    viewDataChanges?: ViewDataChanges;
  },
): WebServerOptions {
  const playbackTokens = createPlaybackTokens(cookieSecret);
  const sessionSettings = { idleMs: config.sessionIdleMs, absoluteMs: config.sessionAbsoluteMs };
  const changes = viewDataChanges;
  return {
    appName: config.appName,
    cookieSecret,
    secureCookies: config.environment === 'production',
    httpsOnly: config.environment === 'production',
    trustProxy: config.trustProxy,
    adminEmails: config.adminEmails,
    sessions: createSessions({
      store,
      viewData,
      settings: sessionSettings,
      ...(changes ? { cache: { ttlMs: SESSION_CACHE_MS, changes } } : {}),
    }),
    applications: [
      createHomeApp({
        viewData,
        playbackTokens,
        ...(changes ? { cache: { ttlMs: HOME_PAGE_CACHE_MS, changes } } : {}),
      }),
      createRecordViewingsApp({ store, viewData, playbackTokens, sampleVideoIds: [SAMPLE_VIDEO_ID] }),
      createWatchApp({ viewData, storage, playbackTokens, appUrl: config.appUrl }),
      createCatalogueApp({ viewData }),
      createCreatorsPortalApp({
        store,
        viewData,
        storage,
        maxUploadBytes: config.maxUploadBytes,
        uploadQuotaBytes: config.uploadQuotaBytes,
        uploadsInFlight: config.uploadsInFlight,
      }),
      createRegisterUsersApp({ store, viewData, passwordHashAlgorithm: config.passwordHashAlgorithm }),
      createAuthenticateApp({
        store,
        viewData,
        passwordHashAlgorithm: config.passwordHashAlgorithm,
        sessionSettings,
        ...(logInAttemptsPerMinute ? { logInAttemptsPerMinute } : {}),
      }),
      createAdminApp({ store, viewData, adminEmails: config.adminEmails }),
    ],
  };
}

/**
 * Where the embedded PGlite runs: on a thread of its own (the default), so its
 * statements do not stop the web server's event loop, or in the main thread.
 */
export type PgliteThread = 'thread' | 'in-process';

/**
 * The message store's database. PGlite takes no lock on its directory and a
 * second process would corrupt it, so the embedded one is opened under a lock
 * file: a second `start`, `populate` or `rebuild` stops with a clear error.
 * When View Data shares the database this one handle serves both, so its search
 * path holds View Data's schema too.
 */
export async function openMessageStoreDatabase(
  config: Config,
  options: { pgliteThread?: PgliteThread; pgliteTemplate?: Blob | undefined } = {},
): Promise<Database> {
  const searchPath = viewDataIsShared(config) ? SHARED_SEARCH_PATH : undefined;
  if (config.messageStoreConnectionString)
    return createPostgresDatabase({
      connectionString: config.messageStoreConnectionString,
      ...(searchPath ? { searchPath } : {}),
    });
  const dataDir = path.join(config.dataDirectory, 'message-store');
  await mkdir(dataDir, { recursive: true });
  const lock = await lockDataDirectory(dataDir);
  const open = options.pgliteThread === 'in-process' ? createPgliteDatabase : createPgliteThreadDatabase;
  // PGlite loads a dump only into a directory that holds no database yet.
  const isNew = !existsSync(path.join(dataDir, 'PG_VERSION'));
  const loadDataDir = isNew ? options.pgliteTemplate : undefined;
  const db = await open({ dataDir, loadDataDir, ...(searchPath ? { searchPath } : {}) }).catch(
    async (error: unknown) => {
      await lock.release();
      throw error;
    },
  );
  return {
    ...db,
    async close() {
      await db.close();
      await lock.release();
    },
  };
}

/**
 * View Data lives in the message store's database unless `DATABASE_URL` names
 * another one. PGlite cannot be opened twice, so embedded View Data always shares it.
 * Either way its tables are in the schema `view_data`.
 */
export function openViewData(config: Config, messageStoreDb: Database): Database {
  if (viewDataIsShared(config)) return messageStoreDb;
  return createPostgresDatabase({ connectionString: config.databaseUrl!, searchPath: VIEW_DATA_SEARCH_PATH });
}

const viewDataIsShared = (config: Config) =>
  !config.databaseUrl || config.databaseUrl === config.messageStoreConnectionString;

function describe(config: Config) {
  return {
    messageStore: config.messageStoreConnectionString
      ? `PostgreSQL at ${describePostgresUrl(config.messageStoreConnectionString)}`
      : `PGlite in ${path.join(config.dataDirectory, 'message-store')}`,
    viewData: config.databaseUrl
      ? `PostgreSQL at ${describePostgresUrl(config.databaseUrl)}`
      : 'with the message store',
  };
}

/** `COOKIE_SECRET`, or in development one generated once and kept in the data directory. */
async function cookieSecret(config: Config): Promise<string> {
  if (config.cookieSecret) return config.cookieSecret;
  const file = path.join(config.dataDirectory, 'development-cookie-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    await mkdir(config.dataDirectory, { recursive: true });
    await writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}
