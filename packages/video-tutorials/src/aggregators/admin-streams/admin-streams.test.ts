import type { MessageStore, Queryable, StoredMessage } from '@vt/message-store';
import { exampleMessage, uniqueCategory, type TestDatabase } from '@vt/message-store/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemTestDatabase } from '../../testing.js';
import { applyStreamStatistics, findStream, listCategories, listStreamNamesOfCategory, listStreams } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function written(streamName: string, type: string): Promise<StoredMessage> {
  const { position } = await test.store.write(streamName, exampleMessage({ type }));
  const [stored] = await test.store.read(streamName, position, 1);
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(messages: StoredMessage[]) {
  const apply = (tx: Queryable) => applyStreamStatistics(messages, tx);
  await test.db.transaction(apply);
  await test.db.transaction(apply);
}

describe('admin-streams aggregator', () => {
  it('counts every stream’s messages and remembers its last one, once however often it is applied', async () => {
    const category = uniqueCategory();
    const a = `${category}-a`;
    const b = `${category}-b`;
    const messages = [
      await written(a, 'Started'),
      await written(a, 'Moved'),
      await written(b, 'Started'),
      await written(a, 'Moved'),
    ];
    await applyTwice(messages);
    // A replay of some of them, and of an older one alone, changes nothing.
    await applyTwice(messages.slice(0, 2));
    await applyTwice(messages.slice(0, 1));

    expect(await findStream(test.db, a)).toMatchObject({
      streamName: a,
      category,
      messageCount: 3,
      lastPosition: 2,
      lastGlobalPosition: messages[3]!.globalPosition,
      lastType: 'Moved',
    });
    expect(await findStream(test.db, b)).toMatchObject({ messageCount: 1, lastType: 'Started' });

    const later = await written(b, 'Stopped');
    // A batch that overlaps what was applied counts only what is new.
    await applyTwice([...messages.slice(2), later]);
    expect((await findStream(test.db, b))?.messageCount).toBe(2);
    expect((await findStream(test.db, a))?.messageCount).toBe(3);
  });

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

  it('lists streams most recently written first, a page at a time, and by category', async () => {
    const category = uniqueCategory();
    const messages: StoredMessage[] = [];
    for (const id of ['1', '2', '3']) messages.push(await written(`${category}-${id}`, 'Started'));
    await applyTwice(messages);

    const first = await listStreams(test.db, { category, limit: 2 });
    expect(first.map((stream) => stream.streamName)).toEqual([`${category}-3`, `${category}-2`]);
    const next = await listStreams(test.db, { category, before: first[1]!.lastGlobalPosition, limit: 2 });
    expect(next.map((stream) => stream.streamName)).toEqual([`${category}-1`]);
    expect((await listStreams(test.db, { limit: 1 }))[0]?.streamName).toBe(`${category}-3`);
    expect(await listStreamNamesOfCategory(test.db, category)).toEqual([
      `${category}-3`,
      `${category}-2`,
      `${category}-1`,
    ]);
  });
});
