/**
 * Emmett's PostgreSQL event store, re-exported for the message-store benchmark (a same-run baseline).
 * It is its own workspace because Emmett asks for uuid 10 as a peer and the toolkit uses uuid 14.
 */
export {
  getPostgreSQLEventStore,
  postgreSQLProjection,
  type PostgresEventStore,
  type PostgreSQLProjectionHandlerContext,
} from '@event-driven-io/emmett-postgresql';
export type { Event, ReadEvent } from '@event-driven-io/emmett';
