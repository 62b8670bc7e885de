import { createMessageStore, type MessageStore } from '../store.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface TestStore extends Omit<TestDatabase, 'drop'> {
  store: MessageStore;
  /** Drops the test database (a function of its own, so it can be taken out of the object). */
  drop: () => Promise<void>;
}

/** A test database (see `createTestDatabase`) with Message DB installed and a message store over it. */
export async function createTestStore(): Promise<TestStore> {
  const test = await createTestDatabase();
  return { ...test, store: createMessageStore({ db: test.db }), drop: () => test.drop() };
}
