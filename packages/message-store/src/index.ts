/**
 * The core: the message store, messages, consumers, positions, parking and wake-ups, over the database port.
 * It holds no adapter, so importing it loads neither `pg` nor PGlite: they are in `message-db-toolkit/postgres`
 * and `message-db-toolkit/pglite`. Each export is named here: what is not named is the toolkit's inside.
 * @module message-db-toolkit
 */

// The database port, for adapters and for code keeping its own data beside the store's.
export {
  ANY_CHANGE,
  isTransientDatabaseError,
  MESSAGE_DB_SEARCH_PATH,
  searchPathSetting,
  type Claim,
  type Database,
  type Notification,
  type Queryable,
  type Row,
  type Session,
} from './database/port.js';
export {
  installedMessageDbVersion,
  installMessageDb,
  packagedMessageDbVersion,
  type InstallResult,
} from './install.js';

// Messages and their names.
export {
  defineMessage,
  ensureWrittenTo,
  follow,
  followMetadata,
  originIdIn,
  type Message,
  type MessageData,
  type MessageDefinition,
  type MessageMetadata,
  type MessageOf,
  type StoredMessage,
} from './message.js';
export * as streamNames from './stream-name.js';
export {
  ALL_STREAMS,
  cardinalId,
  category,
  categoryOfType,
  categoryTypes,
  commandCategory,
  commandStreamName,
  entityName,
  id,
  isCategory,
  isCommandStream,
  streamName,
} from './stream-name.js';
export { DuplicateMessageIdError, InvalidMessageError, VersionConflictError } from './errors.js';

// The store.
export {
  createMessageStore,
  DEFAULT_BATCH_SIZE,
  sharesDatabase,
  snapshotStreamName,
  type CategoryReadOptions,
  type Fetched,
  type MessageStore,
  type Projection,
  type ReadOptions,
  type Reducer,
  type SnapshotSettings,
  type WriteResult,
} from './store.js';
export { defineProjection, type ProjectionBuilder } from './projection.js';
export { readAllInCommitOrder, type AllStreamReader } from './read-all.js';
export {
  STREAM_SCAN_WINDOW,
  storeBrowser,
  TYPE_SEARCH_WINDOW,
  type ReadProgress,
  type StoreBrowser,
  type StreamListing,
  type StreamSummary,
  type TypeSearch,
} from './browse.js';

// Handling commands.
export {
  createDecider,
  DEFAULT_DECISIONS_PER_MESSAGE,
  doOnce,
  nothing,
  outcomeId,
  StreamKeptChangingError,
  type Decider,
  type DeciderOptions,
  type Decision,
  type DoneOnce,
  type DoOnce,
  type Nothing,
  type Outcome,
  type Write,
} from './commands.js';

// Consumers: subscriptions, their positions, parking and wake-ups.
export {
  createSubscription,
  messageInHand,
  type BatchHandledInfo,
  type BatchHandler,
  type ConsumerGroup,
  type ConsumerInfo,
  type HandledInfo,
  type Handlers,
  type Logger,
  type MessageHandler,
  type MessageInHand,
  type PositionInfo,
  type Subscription,
  type SubscriptionObserver,
  type SubscriptionOptions,
} from './subscription.js';
export {
  isPositionRecord,
  lastRecordedPosition,
  messageStorePositions,
  positionStreamName,
  positionTableSql,
  recordedPosition,
  tablePositions,
  type PositionOwner,
  type PositionStore,
  type TablePositionStore,
} from './positions.js';
export { createParkingLot, parkingLotStreamName, type ParkedMessage, type ParkingLot } from './parking.js';
export { WAKE_UPS_APPLICATION_NAME, wakeUpsFor, type WakeUps, type WatcherOptions } from './wake-ups.js';
export { announceWrite } from './write-announcements.js';
