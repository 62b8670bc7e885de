export * from './port.js';
export { createPostgresDatabase, type PostgresOptions } from './postgres.js';
export { createPgliteDatabase, type PgliteOptions } from './pglite.js';
export { createPgliteThreadDatabase, PgliteThreadStoppedError, type PgliteThreadDatabase } from './pglite-thread.js';
