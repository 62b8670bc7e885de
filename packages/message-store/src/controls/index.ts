/**
 * The test kit: a database per test file (PGlite, or a fresh PostgreSQL database with `TEST_POSTGRES_URL`),
 * example messages and unique names, a message store over it, `eventually`, and
 * given/when/then specifications of decisions and handlers.
 * @module message-db-toolkit/controls
 */
export * from './database.js';
export * from './messages.js';
export * from './descheduled-writer.js';
export * from './eventually.js';
export * from './specs.js';
export * from './subscriptions.js';
export * from './test-store.js';
