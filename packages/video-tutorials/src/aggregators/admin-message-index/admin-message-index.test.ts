import { randomUUID } from 'node:crypto';
import {
  storeBrowser,
  type StoreBrowser,
  type Message,
  type MessageStore,
  type Queryable,
  type StoredMessage,
} from 'message-db-toolkit';
import { exampleMessage, uniqueCategory, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { applyMessageIndex, tracePositions, userPositions } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, message: Message): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, message);
  const [stored] = await test.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(messages: StoredMessage[]) {
  const apply = (tx: Queryable) => applyMessageIndex(messages, tx);
  await test.db.transaction(apply);
  await test.db.transaction(apply);
}

describe('admin-message-index aggregator', () => {
  it('indexes messages by trace and by the users they are about, once', async () => {
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

    const rows = await test.db.query<{ count: number }>(
      `SELECT (SELECT count(*) FROM admin_messages_by_trace WHERE global_position = $1)
            + (SELECT count(*) FROM admin_messages_by_user WHERE global_position = $1) AS count`,
      [untraced],
    );
    expect(Number(rows[0]?.count)).toBe(0); // neither a trace nor a user: nothing copied

    const page = (options: Partial<Parameters<StoreBrowser['searchType']>[0]> & { type: string }) =>
      storeBrowser(test.store)
        .searchType({ category, limit: 10, ...options })
        .then((search) => search.positions);
    expect(await page({ type: 'Done' })).toEqual([untraced, done]);
    expect(await page({ type: 'Done', limit: 1 })).toEqual([untraced]);
    expect(await page({ type: 'Done', before: untraced })).toEqual([done]);
    expect(await page({ type: 'Done', after: done })).toEqual([untraced]);
    expect(await page({ type: 'Asked', after: 0 })).toEqual([asked]);
  });

  it('searches a bounded window of messages for a type, and says where it stopped', async () => {
    const category = uniqueCategory();
    const positions: number[] = [];
    for (const type of ['Wanted', 'Other', 'Other', 'Other', 'Wanted'])
      positions.push((await written(`${category}-1`, exampleMessage({ type }))).globalPosition);
    const [first, , , fourth, last] = positions as [number, number, number, number, number];
    const newest = await storeBrowser(test.store).searchType({ type: 'Wanted', category, limit: 10, window: 3 });
    expect(newest).toEqual({ positions: [last], searchedTo: positions[2], exhausted: false });
    const older = await storeBrowser(test.store).searchType({
      type: 'Wanted',
      category,
      before: positions[2],
      limit: 10,
      window: 3,
    });
    expect(older).toEqual({ positions: [first], searchedTo: first, exhausted: true });
    const newer = await storeBrowser(test.store).searchType({
      type: 'Wanted',
      category,
      after: first,
      limit: 10,
      window: 3,
    });
    expect(newer).toEqual({ positions: [], searchedTo: fourth, exhausted: false });
  });
});
