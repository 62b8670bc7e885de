/**
 * The embedded adapters on PGlite, `createPgliteThreadDatabase` (PGlite on a thread of its own) and
 * `createPgliteDatabase` (in the caller's thread): apart from the core so that only their users need
 * `@electric-sql/pglite` installed.
 * @module message-db-toolkit/pglite
 */
export { createPgliteDatabase, type PgliteOptions } from './database/pglite.js';
export {
  createPgliteThreadDatabase,
  PgliteThreadStoppedError,
  type PgliteThreadDatabase,
} from './database/pglite-thread.js';
