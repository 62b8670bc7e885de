import type { MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import { exampleMessage, uniqueCategory, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { applyStreamStatistics, listCategories } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, type: string): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, exampleMessage({ type }));
  const [stored] = await test.store.read(streamName, { from: position, max: 1 });
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(messages: StoredMessage[]) {
  const apply = (tx: Queryable) => applyStreamStatistics(messages, tx);
  await test.db.transaction(apply);
  await test.db.transaction(apply);
}

describe('admin-streams aggregator (counts per category)', () => {
  it('counts messages and streams per category and type, once', async () => {
    const category = uniqueCategory();
    const messages = [
      await written(`${category}-1`, 'Started'),
      await written(`${category}-1`, 'Moved'),
      await written(`${category}-2`, 'Started'),
    ];
    await applyTwice(messages);
    await applyTwice(messages.slice(1));
    const more = [await written(`${category}-2`, 'Moved'), await written(`${category}-3`, 'Moved')];
    await applyTwice([...messages, ...more]);

    const summary = (await listCategories(test.db)).find((each) => each.category === category);
    expect(summary).toMatchObject({
      category,
      messageCount: 5,
      streamCount: 3,
      lastGlobalPosition: more[1]!.globalPosition,
      types: [
        { type: 'Moved', messageCount: 3 },
        { type: 'Started', messageCount: 2 },
      ],
    });
  });

  it('adds no View Data row for a batch of messages to new streams: only counts per category and type change', async () => {
    const category = uniqueCategory();
    const rowCounts = async () => {
      const tables = await test.db.query<{ name: string }>(
        `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'view_data' ORDER BY tablename`,
      );
      const counts: Record<string, number> = {};
      for (const { name } of tables) {
        const [row] = await test.db.query<{ count: number }>(`SELECT count(*)::int AS count FROM view_data.${name}`);
        counts[name] = row!.count;
      }
      return counts;
    };
    await applyTwice([await written(`${category}-0`, 'Started')]);
    const before = await rowCounts();
    const messages: StoredMessage[] = [];
    for (let index = 1; index <= 20; index++) messages.push(await written(`${category}-${index}`, 'Started'));
    await applyTwice(messages);

    // The (category, Started) row was there already: twenty new streams add no row at all.
    expect(await rowCounts()).toEqual(before);
    expect((await listCategories(test.db)).find((each) => each.category === category)).toMatchObject({
      messageCount: 21,
      streamCount: 21,
    });
  });
});
