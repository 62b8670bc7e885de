// An outsider's test with the toolkit's test kit, run by src/package.test.ts as `node --test store.test.mjs`:
// PGlite in memory, or a fresh PostgreSQL database of its own when TEST_POSTGRES_URL names a server.
// #region controls
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMessageStore } from 'message-db-toolkit';
import { createTestDatabase, exampleMessage, uniqueStreamName } from 'message-db-toolkit/controls';

test('a written message is read back', async (t) => {
  const { db, drop } = await createTestDatabase(); // Message DB installed
  t.after(drop);
  const store = createMessageStore({ db });
  const stream = uniqueStreamName(); // `someCategory1x…-{uuid}`: no other test writes there
  const message = exampleMessage();

  await store.write(stream, message);

  const [read] = await store.read(stream, { from: 0, max: 10 });
  assert.equal(read.id, message.id);
  assert.deepEqual(read.data, message.data);
});
// #endregion
