import { randomUUID } from 'node:crypto';
import type { Message, MessageStore, Queryable, StoredMessage } from '@vt/message-store';
import { exampleMessage, uniqueCategory, type TestDatabase } from '@vt/message-store/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemTestDatabase } from '../../testing.js';
import { applyMessageIndex, tracePositions, typePositions, userPositions } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, message: Message): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, position, 1);
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(messages: StoredMessage[]) {
  const apply = (tx: Queryable) => applyMessageIndex(messages, tx);
  await test.db.transaction(apply);
  await test.db.transaction(apply);
}

describe('admin-message-index aggregator', () => {
  it('indexes messages by trace, by the users they are about and by type, once', async () => {
    const traceId = randomUUID();
    const actor = randomUUID();
    const subject = randomUUID();
    const category = uniqueCategory();
    const messages = [
      await written(`${category}-1`, exampleMessage({ type: 'Asked', metadata: { traceId, userId: actor } })),
      await written(
        `${category}-1`,
        exampleMessage({ type: 'Done', data: { userId: subject }, metadata: { traceId, userId: actor } }),
      ),
      await written(`${category}-2`, exampleMessage({ type: 'Done', data: { userId: 'anonymous' }, metadata: {} })),
    ];
    await applyTwice(messages);
    await applyTwice(messages.slice(1));

    const [asked, done, untraced] = messages.map((message) => message.globalPosition) as [number, number, number];
    expect(await tracePositions(test.db, traceId, 10)).toEqual([asked, done]);
    expect(await userPositions(test.db, actor, { limit: 10 })).toEqual([done, asked]);
    expect(await userPositions(test.db, actor, { limit: 10, type: 'Asked' })).toEqual([asked]);
    expect(await userPositions(test.db, actor, { limit: 10, before: done })).toEqual([asked]);
    expect(await userPositions(test.db, subject, { limit: 10 })).toEqual([done]);
    expect(await userPositions(test.db, 'anonymous', { limit: 10 })).toEqual([]);

    expect(await typePositions(test.db, { type: 'Done', category, limit: 10 })).toEqual([untraced, done]);
    expect(await typePositions(test.db, { type: 'Done', category, limit: 1 })).toEqual([untraced]);
    expect(await typePositions(test.db, { type: 'Done', category, before: untraced, limit: 10 })).toEqual([done]);
    expect(await typePositions(test.db, { type: 'Done', category, after: done, limit: 10 })).toEqual([untraced]);
    expect(await typePositions(test.db, { type: 'Asked', category, after: 0, limit: 10 })).toEqual([asked]);
  });
});
