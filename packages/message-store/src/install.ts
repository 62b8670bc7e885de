import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Database, Queryable } from './database/port.js';

/**
 * Installs Message DB from the SQL shipped in the `@eventide/message-db`
 * package — never a copy of it — in the order of the package's own
 * install scripts. Safe at every start: it does nothing when the installed
 * version is current, and concurrent starters wait on one advisory lock.
 */
const require = createRequire(import.meta.url);
const packageDirectory = path.dirname(require.resolve('@eventide/message-db/package.json'));
const sqlPath = (file: string) => path.join(packageDirectory, 'database', file);

// The order of install.sh, install-functions.sh, install-indexes.sh and install-views.sh.
const TABLE_FILES = ['schema/message-store.sql', 'extensions/pgcrypto.sql', 'tables/messages.sql'];
const TYPE_AND_FUNCTION_FILES = [
  'types/message.sql',
  'functions/message-store-version.sql',
  'functions/hash-64.sql',
  'functions/acquire-lock.sql',
  'functions/category.sql',
  'functions/is-category.sql',
  'functions/id.sql',
  'functions/cardinal-id.sql',
  'functions/stream-version.sql',
  'functions/write-message.sql',
  'functions/get-stream-messages.sql',
  'functions/get-category-messages.sql',
  'functions/get-last-stream-message.sql',
];
const INDEX_FILES = ['indexes/messages-id.sql', 'indexes/messages-stream.sql', 'indexes/messages-category.sql'];
const VIEW_FILES = [
  'views/stream-summary.sql',
  'views/type-summary.sql',
  'views/stream-type-summary.sql',
  'views/type-stream-summary.sql',
  'views/category-type-summary.sql',
  'views/type-category-summary.sql',
];

// Earlier versions of the toolkit added a trigger that NOTIFYed every insert. Its pg_notify
// serialized writers' commits on the notification queue's lock; wake-ups now read new rows
// instead (see wake-ups.ts), so an installation that still has it gets it dropped.
const LEGACY_NOTIFY_TRIGGER = 'message_store.toolkit_notify_message_written()';
const DROP_LEGACY_NOTIFY_TRIGGER_SQL = `
DROP TRIGGER IF EXISTS toolkit_notify_message_written ON message_store.messages;
DROP FUNCTION IF EXISTS ${LEGACY_NOTIFY_TRIGGER};
`;

// Two starters must not install at once; any fixed 64-bit key will do.
const INSTALL_LOCK_KEY = 7_240_113_095_113;

export interface InstallResult {
  /** What was done: nothing, a fresh install, or an upgrade from an older version. */
  action: 'none' | 'installed' | 'upgraded';
  version: string;
  previousVersion: string | null;
}

export async function packagedMessageDbVersion(): Promise<string> {
  const source = await readFile(sqlPath('functions/message-store-version.sql'), 'utf8');
  const match = /RETURN\s+'([^']+)'/.exec(source);
  if (!match?.[1]) throw new Error('Cannot read the version from @eventide/message-db');
  return match[1];
}

export async function installedMessageDbVersion(db: Queryable): Promise<string | null> {
  const [row] = await db.query<{ present: boolean }>(
    `SELECT to_regprocedure('message_store.message_store_version()') IS NOT NULL AS present`,
  );
  if (!row?.present) return null;
  const [version] = await db.query<{ version: string }>('SELECT message_store.message_store_version() AS version');
  return version?.version ?? null;
}

export async function installMessageDb(db: Database): Promise<InstallResult> {
  const version = await packagedMessageDbVersion();
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [INSTALL_LOCK_KEY]);
    // Quiet the NOTICEs of "IF EXISTS" statements, as the package's scripts do.
    await tx.query(`SET LOCAL client_min_messages = warning`);
    const previousVersion = await installedMessageDbVersion(tx);
    const [table] = await tx.query<{ present: boolean }>(
      `SELECT to_regclass('message_store.messages') IS NOT NULL AS present`,
    );
    const legacyTrigger = await hasLegacyNotifyTrigger(tx);

    if (previousVersion === version && !legacyTrigger) return { action: 'none', version, previousVersion };

    if (!table?.present) {
      await runFiles(tx, [...TABLE_FILES, ...TYPE_AND_FUNCTION_FILES, ...INDEX_FILES, ...VIEW_FILES]);
    } else if (previousVersion !== version) {
      // The package's update scripts drop functions whose signatures changed;
      // re-creating the type (CASCADE) and every function covers them all.
      await tx.query('DROP FUNCTION IF EXISTS message_store.get_last_stream_message(varchar) CASCADE');
      await tx.query('DROP FUNCTION IF EXISTS message_store.message_store_version() CASCADE');
      await runFiles(tx, [...TYPE_AND_FUNCTION_FILES, ...VIEW_FILES]);
      await ensureIndexes(tx);
    }
    if (legacyTrigger) await tx.exec(DROP_LEGACY_NOTIFY_TRIGGER_SQL);
    return { action: previousVersion === null ? 'installed' : 'upgraded', version, previousVersion };
  });
}

async function hasLegacyNotifyTrigger(db: Queryable): Promise<boolean> {
  const [row] = await db.query<{ present: boolean }>(`SELECT to_regprocedure($1) IS NOT NULL AS present`, [
    LEGACY_NOTIFY_TRIGGER,
  ]);
  return row?.present === true;
}

async function ensureIndexes(tx: Queryable) {
  for (const file of INDEX_FILES) {
    const name = path.basename(file, '.sql').replace('-', '_');
    const [row] = await tx.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
      `message_store.${name}`,
    ]);
    if (!row?.present) await runFiles(tx, [file]);
  }
}

async function runFiles(tx: Queryable, files: string[]) {
  for (const file of files) {
    const sql = await readFile(sqlPath(file), 'utf8');
    await tx.exec(sql);
  }
}
