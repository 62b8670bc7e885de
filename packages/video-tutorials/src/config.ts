import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD_HASH_ALGORITHMS, type PasswordHashAlgorithm } from './passwords.js';

/**
 * The settings of the system, read from the environment (see "Configuration" in the README).
 * Only the settings the running code uses are read here; more join as the
 * applications and components that need them are built.
 */
export interface Config {
  /** The HTTP port of the web applications. `PORT`, default 3000. */
  port: number;
  /** View Data on PostgreSQL (`DATABASE_URL`); absent means embedded. Not used yet. */
  databaseUrl: string | undefined;
  /** The message store on PostgreSQL (`MESSAGE_STORE_CONNECTION_STRING`); absent means embedded PGlite. */
  messageStoreConnectionString: string | undefined;
  /** Absolute directory for embedded data (`DATA_DIRECTORY`, default `data` under the repository root). */
  dataDirectory: string;
  /** `NODE_ENV`: production demands real secrets. */
  environment: 'production' | 'development' | 'test';
  /** Signs session and CSRF cookies (`COOKIE_SECRET`); required in production, generated otherwise. */
  cookieSecret: string | undefined;
  /** Where the file transport writes e-mails (`EMAIL_DIRECTORY`, default `<data>/emails`). */
  emailDirectory: string;
  /** Sends e-mail over SMTP instead of files (`SMTP_URL`, e.g. smtp://user:pass@host:587). */
  smtpUrl: string | undefined;
  /** The sender of system e-mails (`SYSTEM_SENDER_EMAIL_ADDRESS`). */
  systemSenderEmailAddress: string;
  /** The name shown on pages and e-mails (`APP_NAME`). */
  appName: string;
  /** The site's address for links in e-mails (`APP_URL`, default `http://localhost:<PORT>`). */
  appUrl: string;
  /** Where uploaded, transcoded and poster files live (`STORAGE_DIRECTORY`, default `<data>/storage`). */
  storageDirectory: string;
  /** The largest video upload accepted (`UPLOAD_MAX_MEGABYTES`, default 200). */
  maxUploadBytes: number;
  /** What one user's videos may take in storage, all files counted (`UPLOAD_QUOTA_MEGABYTES`, default 2000). */
  uploadQuotaBytes: number;
  /** One user's uploads being received or still processing at once (`UPLOADS_IN_FLIGHT`, default 3). */
  uploadsInFlight: number;
  /** Keep uploaded source files after transcoding (`KEEP_UPLOADED_SOURCES=true`); removed by default. */
  keepUploadedSources: boolean;
  /**
   * Which proxies' `X-Forwarded-For` to believe (`TRUST_PROXY`): `false` (the default: none, the
   * socket's address is the client's), a hop count, or the proxies' addresses and CIDR ranges.
   */
  trustProxy: false | number | string[];
  /**
   * Run each component as one member of a consumer group of this size, claiming free member slots by
   * itself (`CONSUMER_GROUP_SIZE`): start up to that many worker processes of a component to scale it out.
   */
  consumerGroupSize: number | undefined;
  /** Users with the admin role, by e-mail address (`ADMIN_EMAILS`, comma-separated, lower-cased). */
  adminEmails: string[];
  /** `LOG_LEVEL`: fatal, error, warn, info, debug, trace or silent; default info (warn when NODE_ENV=test). */
  logLevel: LogLevel;
  /** A session unused this long ends (`SESSION_IDLE_MINUTES`, default 120). */
  sessionIdleMs: number;
  /** A session ends this long after log-in (`SESSION_MAX_HOURS`, default 168: a week). */
  sessionAbsoluteMs: number;
  /** `METRICS_TOKEN`: when set, `GET /metrics` wants `Authorization: Bearer <token>`; unset, it is open. */
  metricsToken: string | undefined;
  /**
   * How new passwords are hashed (`PASSWORD_HASH_ALGORITHM`): `argon2id` (the default), or `bcrypt` while the
   * book's web pages run on the same message store, so that they can log in the users registered here.
   */
  passwordHashAlgorithm: PasswordHashAlgorithm;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A missing or malformed setting. Its message is one line, names the setting and never holds a secret. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The repository root: relative `DATA_DIRECTORY` values resolve against it, whatever the working directory. */
export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDirectory = path.resolve(repositoryRoot, setting(env, 'DATA_DIRECTORY') ?? 'data');
  const environment = readEnvironment(setting(env, 'NODE_ENV'));
  return {
    environment,
    cookieSecret: readCookieSecret(setting(env, 'COOKIE_SECRET'), environment),
    emailDirectory: path.resolve(repositoryRoot, setting(env, 'EMAIL_DIRECTORY') ?? path.join(dataDirectory, 'emails')),
    smtpUrl: readSmtpUrl(setting(env, 'SMTP_URL')),
    systemSenderEmailAddress: readSender(setting(env, 'SYSTEM_SENDER_EMAIL_ADDRESS')),
    appName: setting(env, 'APP_NAME') ?? 'Video Tutorials',
    appUrl: readAppUrl(setting(env, 'APP_URL'), readPort(setting(env, 'PORT'))),
    storageDirectory: path.resolve(
      repositoryRoot,
      setting(env, 'STORAGE_DIRECTORY') ?? path.join(dataDirectory, 'storage'),
    ),
    consumerGroupSize: readGroupSize(setting(env, 'CONSUMER_GROUP_SIZE')),
    adminEmails: readEmailList('ADMIN_EMAILS', setting(env, 'ADMIN_EMAILS')),
    logLevel: readLogLevel(setting(env, 'LOG_LEVEL'), environment),
    metricsToken: readMetricsToken(setting(env, 'METRICS_TOKEN')),
    passwordHashAlgorithm: readPasswordHashAlgorithm(setting(env, 'PASSWORD_HASH_ALGORITHM')),
    sessionIdleMs:
      readWholeNumber('SESSION_IDLE_MINUTES', setting(env, 'SESSION_IDLE_MINUTES'), 120, 1, 7 * 24 * 60) * 60_000,
    sessionAbsoluteMs:
      readWholeNumber('SESSION_MAX_HOURS', setting(env, 'SESSION_MAX_HOURS'), 168, 1, 24 * 365) * 3_600_000,
    maxUploadBytes: readMegabytes('UPLOAD_MAX_MEGABYTES', setting(env, 'UPLOAD_MAX_MEGABYTES'), 200) * 1024 * 1024,
    uploadQuotaBytes:
      readMegabytes('UPLOAD_QUOTA_MEGABYTES', setting(env, 'UPLOAD_QUOTA_MEGABYTES'), 2000) * 1024 * 1024,
    uploadsInFlight: readUploadsInFlight(setting(env, 'UPLOADS_IN_FLIGHT')),
    keepUploadedSources: readBoolean('KEEP_UPLOADED_SOURCES', setting(env, 'KEEP_UPLOADED_SOURCES')),
    trustProxy: readTrustProxy(setting(env, 'TRUST_PROXY')),
    port: readPort(setting(env, 'PORT')),
    databaseUrl: readPostgresUrl('DATABASE_URL', setting(env, 'DATABASE_URL')),
    messageStoreConnectionString: readPostgresUrl(
      'MESSAGE_STORE_CONNECTION_STRING',
      setting(env, 'MESSAGE_STORE_CONNECTION_STRING'),
    ),
    dataDirectory,
  };
}

function readLogLevel(value: string | undefined, environment: Config['environment']): LogLevel {
  if (value === undefined) return environment === 'test' ? 'warn' : 'info';
  const level = LOG_LEVELS.find((known) => known === value.toLowerCase());
  if (!level)
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, but is ${JSON.stringify(value)}`);
  return level;
}

function readPasswordHashAlgorithm(value: string | undefined): PasswordHashAlgorithm {
  if (value === undefined) return 'argon2id';
  const algorithm = PASSWORD_HASH_ALGORITHMS.find((known) => known === value.toLowerCase());
  if (!algorithm)
    throw new ConfigError(
      `PASSWORD_HASH_ALGORITHM must be ${PASSWORD_HASH_ALGORITHMS.join(' or ')}, but is ${JSON.stringify(value)}`,
    );
  return algorithm;
}

function readMetricsToken(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length < 16 || /\s/.test(value))
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters without spaces (value not shown)');
  return value;
}

function readGroupSize(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const size = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(size) || size < 1 || size > 64)
    throw new ConfigError(`CONSUMER_GROUP_SIZE must be a whole number from 1 to 64, but is ${JSON.stringify(value)}`);
  return size;
}

function readEmailList(name: string, value: string | undefined): string[] {
  if (value === undefined) return [];
  const emails = value
    .split(',')
    .map((email) => email.trim().toLowerCase())
    .filter(Boolean);
  for (const email of emails)
    if (!/^[^@\s]+@[^@\s]+$/.test(email))
      throw new ConfigError(
        `${name} must be e-mail addresses separated by commas; ${JSON.stringify(email)} is not one`,
      );
  return emails;
}

function readMegabytes(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const megabytes = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(megabytes) || megabytes < 1 || megabytes > 100_000)
    throw new ConfigError(
      `${name} must be a whole number of megabytes from 1 to 100000, but is ${JSON.stringify(value)}`,
    );
  return megabytes;
}

function readUploadsInFlight(value: string | undefined): number {
  return readWholeNumber('UPLOADS_IN_FLIGHT', value, 3, 1, 100);
}

function readBoolean(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, but is ${JSON.stringify(value)}`);
}

/** The names proxy-addr (Fastify's `trustProxy`) knows for whole ranges. */
const PROXY_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

function readTrustProxy(value: string | undefined): Config['trustProxy'] {
  if (value === undefined || /^(false|off|no|0)$/i.test(value)) return false;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops > 10) throw new ConfigError(`TRUST_PROXY as a hop count must be from 0 to 10, but is ${value}`);
    return hops;
  }
  const proxies = value.split(',').map((proxy) => proxy.trim());
  for (const proxy of proxies) {
    const [address = '', prefix, extra] = proxy.split('/');
    const family = isIP(address);
    const prefixOk =
      prefix === undefined ||
      (/^\d+$/.test(prefix) && Number(prefix) <= (family === 6 ? 128 : 32) && extra === undefined);
    if (!PROXY_RANGES.includes(proxy) && (family === 0 || !prefixOk))
      throw new ConfigError(
        `TRUST_PROXY must be off, a hop count, or proxy addresses separated by commas (an IP, a CIDR range, loopback, linklocal or uniquelocal); ${JSON.stringify(proxy)} is none of these`,
      );
  }
  return proxies;
}

function readAppUrl(value: string | undefined, port: number): string {
  if (value === undefined) return `http://localhost:${port}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`APP_URL must be an http:// or https:// address, but is ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ConfigError(`APP_URL must be an http:// or https:// address, but is ${JSON.stringify(value)}`);
  return url.origin + url.pathname.replace(/\/$/, '');
}

function readWholeNumber(name: string, value: string | undefined, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < min || number > max)
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, but is ${JSON.stringify(value)}`);
  return number;
}

function readEnvironment(value: string | undefined): Config['environment'] {
  if (value === undefined) return 'development';
  if (value === 'production' || value === 'development' || value === 'test') return value;
  throw new ConfigError(`NODE_ENV must be production, development or test, but is ${JSON.stringify(value)}`);
}

function readCookieSecret(value: string | undefined, environment: Config['environment']): string | undefined {
  if (value === undefined) {
    if (environment === 'production') throw new ConfigError('COOKIE_SECRET is required when NODE_ENV=production');
    return undefined;
  }
  if (value.length < 32) throw new ConfigError('COOKIE_SECRET must be at least 32 characters long (value not shown)');
  return value;
}

function readSmtpUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('SMTP_URL must be a URL like smtp://user:password@host:587 (value not shown)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new ConfigError(`SMTP_URL must start with smtp:// or smtps://, not ${url.protocol}// (value not shown)`);
  return value;
}

function readSender(value: string | undefined): string {
  const sender = value ?? 'Video Tutorials <no-reply@video-tutorials.localhost>';
  if (!/^[^<>]*<[^@\s<>]+@[^@\s<>]+>$|^[^@\s<>]+@[^@\s<>]+$/.test(sender))
    throw new ConfigError(
      `SYSTEM_SENDER_EMAIL_ADDRESS must be an e-mail address, optionally with a name: "Name <address@example.com>"`,
    );
  return sender;
}

/** A setting's value, with blank treated as not set. */
function setting(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function readPort(value: string | undefined): number {
  if (value === undefined) return 3000;
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(port) || port > 65_535)
    throw new ConfigError(`PORT must be a whole number from 0 to 65535, but is ${JSON.stringify(value)}`);
  return port;
}

/** Connection strings hold passwords: errors about them describe the problem, never the value. */
function readPostgresUrl(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL like postgres://user:password@host:5432/database (value not shown)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ConfigError(
      `${name} must start with postgres:// or postgresql://, not ${url.protocol}// (value not shown)`,
    );
  if (!url.hostname && !url.searchParams.has('host')) throw new ConfigError(`${name} names no host (value not shown)`);
  return value;
}

/** Where a PostgreSQL URL points, without user, password or parameters: safe to print. */
export function describePostgresUrl(connectionString: string): string {
  const url = new URL(connectionString);
  const host = url.hostname || url.searchParams.get('host') || 'localhost';
  return `${host}:${url.port || '5432'}${url.pathname.length > 1 ? url.pathname : ''}`;
}
