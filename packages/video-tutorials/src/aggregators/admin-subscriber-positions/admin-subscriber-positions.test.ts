import { randomUUID } from 'node:crypto';
import { positionStreamName, type MessageStore, type Queryable, type StoredMessage } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { applyPositions, listSubscriberPositions, parsePositionStreamName } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

async function read(streamName: string, position: unknown): Promise<StoredMessage> {
  const { position: streamPosition } = await test.store.write(streamName, {
    id: randomUUID(),
    type: 'Read',
    data: { position },
  });
  const [stored] = await test.store.read(streamName, { from: streamPosition, max: 1 });
  return stored!;
}

/** Applies messages twice, as a replay would: the second time must change nothing. */
async function applyTwice(messages: StoredMessage[]) {
  const apply = (tx: Queryable) => applyPositions(messages, tx);
  await test.db.transaction(apply);
  await test.db.transaction(apply);
}

describe('admin-subscriber-positions aggregator', () => {
  it('reads subscriber ids and consumer-group members from position stream names', () => {
    expect(parsePositionStreamName('subscriberPosition-components:identity')).toEqual({
      subscriberId: 'components:identity',
      member: null,
      groupSize: null,
    });
    expect(parsePositionStreamName('subscriberPosition-components:send-email+2of3')).toEqual({
      subscriberId: 'components:send-email',
      member: 2,
      groupSize: 3,
    });
  });

  it('keeps the last position of every consumer and member, never going back on a replay', async () => {
    const subscriberId = `test:${randomUUID()}`;
    const single = positionStreamName(subscriberId);
    const member = positionStreamName(subscriberId, { member: 1, size: 2 });
    const first = [await read(single, 10), await read(member, 7), await read(single, 25)];
    await applyTwice(first);
    const later = await read(member, 40);
    await applyTwice([...first, later]);
    // An old Read on its own, and one that is not a position, change nothing.
    await applyTwice([first[0]!, await read(single, 'not a number')]);

    const positions = (await listSubscriberPositions(test.db)).filter(
      (position) => position.subscriberId === subscriberId,
    );
    expect(positions).toEqual([
      { streamName: single, subscriberId, member: null, groupSize: null, position: 25, updatedAt: first[2]!.time },
      { streamName: member, subscriberId, member: 1, groupSize: 2, position: 40, updatedAt: later.time },
    ]);
  });
});
