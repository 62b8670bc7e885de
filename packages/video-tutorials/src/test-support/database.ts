import {
  createMessageStore,
  type Database,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { migrateViewData, SHARED_SEARCH_PATH } from '../view-data/migrations.js';

/** A fresh database with Message DB installed and View Data migrated, for one test file. */
export async function createSystemTestDatabase(): Promise<TestDatabase & { store: MessageStore }> {
  const test = await createTestDatabase({ searchPath: SHARED_SEARCH_PATH });
  await migrateViewData(test.db);
  return { ...test, store: createMessageStore({ db: test.db }) };
}

/** Applies `messages` to View Data twice, each time in a transaction, as a replay would: the second must change nothing. */
export async function applyTwice(
  db: Database,
  apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>,
  messages: StoredMessage[],
) {
  await db.transaction((tx) => apply(messages, tx));
  await db.transaction((tx) => apply(messages, tx));
}

/** Calls `handler` twice with the same message, as a redelivery would: the second call must change nothing. */
export async function handleTwice<Outcome>(
  handler: (message: StoredMessage) => Promise<Outcome>,
  message: StoredMessage,
): Promise<[Outcome, Outcome]> {
  const first = await handler(message);
  const second = await handler(message);
  return [first, second];
}

/** The types of a stream's messages, in order. */
export const typesIn = async (store: MessageStore, streamName: string) =>
  (await store.read(streamName)).map((message) => message.type);
