import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The settings of the system, read from the environment (DESIGN.md §5).
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
}

/** A missing or malformed setting. Its message is one line, names the setting and never holds a secret. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The repository root: relative `DATA_DIRECTORY` values resolve against it, whatever the working directory. */
export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: readPort(setting(env, 'PORT')),
    databaseUrl: readPostgresUrl('DATABASE_URL', setting(env, 'DATABASE_URL')),
    messageStoreConnectionString: readPostgresUrl(
      'MESSAGE_STORE_CONNECTION_STRING',
      setting(env, 'MESSAGE_STORE_CONNECTION_STRING'),
    ),
    dataDirectory: path.resolve(repositoryRoot, setting(env, 'DATA_DIRECTORY') ?? 'data'),
  };
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
