import { createMessageStore, type MessageStore } from '@vt/message-store';
import { createTestDatabase, type TestDatabase } from '@vt/message-store/controls';
import { migrateViewData, SHARED_SEARCH_PATH } from './view-data/migrations.js';

/** A fresh database with Message DB installed and View Data migrated, for one test file. */
export async function createSystemTestDatabase(): Promise<TestDatabase & { store: MessageStore }> {
  const test = await createTestDatabase({ searchPath: SHARED_SEARCH_PATH });
  await migrateViewData(test.db);
  return { ...test, store: createMessageStore({ db: test.db }) };
}
