export * from './port.js';
export { createPostgresDatabase, type PostgresOptions } from './postgres.js';
export { createPgliteDatabase, type PgliteOptions } from './pglite.js';
