// The one file that knows which database adapter runs: everything else takes a `Database`.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { installMessageDb, type Database } from 'message-db-toolkit';
import { createPgliteThreadDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';

/** Where the embedded PGlite keeps its data by default: under this example. */
export const EMBEDDED_DATA_DIRECTORY = fileURLToPath(new URL('../data/pglite', import.meta.url));

/**
 * Opens PostgreSQL at `databaseUrl`, or else the embedded PGlite (on a thread of its own, so its statements
 * do not stop the HTTP server) with its data in `dataDirectory`, and installs Message DB (idempotent).
 */
export async function openDatabase({
  databaseUrl,
  dataDirectory = EMBEDDED_DATA_DIRECTORY,
}: {
  databaseUrl?: string | undefined;
  dataDirectory?: string | undefined;
}): Promise<Database> {
  if (!databaseUrl) await mkdir(dataDirectory, { recursive: true }); // PGlite makes only the last level
  const db = databaseUrl
    ? createPostgresDatabase({ connectionString: databaseUrl })
    : await createPgliteThreadDatabase({ dataDir: dataDirectory });
  await installMessageDb(db);
  return db;
}
