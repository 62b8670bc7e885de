/**
 * The core: the message store, messages, consumers, positions, parking and wake-ups, over the database port.
 * It holds no adapter, so importing it loads neither `pg` nor PGlite: they are in `message-db-toolkit/postgres`
 * and `message-db-toolkit/pglite`.
 * @module message-db-toolkit
 */
export * from './database/port.js';
export * from './commands.js';
export * from './errors.js';
export * from './install.js';
export * from './message.js';
export * from './own-key.js';
export * from './parking.js';
export * from './positions.js';
export { defineProjection, type ProjectionBuilder } from './projection.js';
export * from './browse.js';
// The row shape and column list behind reads stay inside: readers get StoredMessage (browse.ts reads for admins).
export { readAllInCommitOrder, type AllStreamReader } from './read-all.js';
export {
  createMessageStore,
  DEFAULT_BATCH_SIZE,
  snapshotStreamName,
  type CategoryReadOptions,
  type Fetched,
  type MessageStore,
  type Projection,
  type Reducer,
  type SnapshotSettings,
  type WriteResult,
} from './store.js';
export * as streamNames from './stream-name.js';
export * from './stream-name.js';
export * from './subscription.js';
export * from './wake-ups.js';
export { announceWrite } from './write-announcements.js';
