/**
 * The PostgreSQL adapter, `createPostgresDatabase`: apart from the core so that only its users need `pg` installed.
 * @module message-db-toolkit/postgres
 */
export { createPostgresDatabase, type PostgresOptions } from './database/postgres.js';
