import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageStore } from 'message-db-toolkit';
import { exampleMessage, uniqueCategory, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Piece } from '../../piece.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import * as adminMessageIndex from '../admin-message-index/index.js';
import * as adminStreams from '../admin-streams/index.js';
import * as adminSubscriberPositions from '../admin-subscriber-positions/index.js';
import * as adminUsers from '../admin-users/index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

const buildAll = (): Piece[] =>
  [adminUsers, adminStreams, adminSubscriberPositions, adminMessageIndex].map((aggregator) =>
    aggregator.build({ store: test.store, viewData: test.db }),
  );
const caughtUp = (pieces: Piece[]) =>
  Promise.all(pieces.flatMap((piece) => piece.subscriptions).map((subscription) => subscription.waitUntilCaughtUp()));

async function messageCount() {
  const [row] = await test.db.query<{ count: string | number }>('SELECT count(*) AS count FROM message_store.messages');
  return Number(row?.count);
}

const countsOf = async (category: string) =>
  (await adminStreams.listCategories(test.db)).find((summary) => summary.category === category);

async function positionRecordCount() {
  const [row] = await test.db.query<{ count: string | number }>(
    `SELECT count(*) AS count FROM message_store.messages WHERE stream_name LIKE 'subscriberPosition-aggregators:admin-%'`,
  );
  return Number(row?.count);
}

describe('the admin aggregators’ $all subscriptions', () => {
  it('catch up, record their positions in View Data, and write nothing into $all', async () => {
    const category = uniqueCategory();
    for (let index = 0; index < 5; index++) await test.store.write(`${category}-${index}`, exampleMessage());
    const pieces = buildAll();
    for (const piece of pieces) await piece.start();
    await caughtUp(pieces);
    await sleep(300); // no signal tells when what catching up set off has settled
    const settled = await messageCount();
    await sleep(500); // what is shown is a quiet span: nothing written in it
    expect(await messageCount()).toBe(settled);

    const [recorded] = await test.db.query<{ position: string }>(
      'SELECT position FROM consumer_positions WHERE subscriber_id = $1',
      [adminStreams.ADMIN_STREAMS_SUBSCRIBER_ID],
    );
    const [lastOfCategory] = await test.store.read(`${category}-4`);
    expect(Number(recorded?.position)).toBeGreaterThanOrEqual(lastOfCategory!.globalPosition);
    expect(await countsOf(category)).toMatchObject({ messageCount: 5, streamCount: 5 });

    // Messages written one at a time bring no position record into the message store.
    for (let index = 0; index < 10; index++) {
      await test.store.write(`${category}-${index}`, exampleMessage());
      await caughtUp(pieces);
    }
    expect(await positionRecordCount()).toBe(0);
    expect(await countsOf(category)).toMatchObject({ messageCount: 15, streamCount: 10 });
    for (const piece of pieces) await piece.stop();

    // Started again, they go on from their positions and apply what is new.
    await test.store.write(`${category}-4`, exampleMessage());
    const again = buildAll();
    for (const piece of again) await piece.start();
    await caughtUp(again);
    for (const piece of again) await piece.stop();
    expect(await countsOf(category)).toMatchObject({ messageCount: 16, streamCount: 10 });
    const consumers = await adminSubscriberPositions.listSubscriberPositions(test.db);
    expect(consumers.map((consumer) => consumer.subscriberId)).toEqual(
      expect.arrayContaining([
        adminUsers.ADMIN_USERS_SUBSCRIBER_ID,
        adminMessageIndex.ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID,
      ]),
    );
  });
});
