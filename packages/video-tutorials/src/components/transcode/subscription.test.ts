import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMessageStore, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { transcodeStreamName } from '../../contracts/transcode.js';
import { createTestStorage, exampleTranscode, ffmpegPath, makeClip, requestTranscode } from './controls.js';
import { build } from './index.js';

let testDatabase: TestDatabase;
let messageStore: MessageStore;
let storage: Awaited<ReturnType<typeof createTestStorage>>;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  messageStore = createMessageStore({ db: testDatabase.db });
  storage = await createTestStorage();
});
afterAll(async () => {
  await storage?.remove();
  await testDatabase?.drop();
});

it('parks a malformed Transcode and goes on transcoding the videos after it', async () => {
  const uri = await makeClip(storage, 'uploads/short.mkv', { size: '320x240', seconds: 1, audio: true });
  const malformed = await requestTranscode(messageStore, { transcodeId: 'not-a-uuid', uri });
  const wellFormed = exampleTranscode({ uri });
  await requestTranscode(messageStore, wellFormed);
  const transcode = build({ messageStore, storage, ffmpegPath, consumerGroup: { member: 0, size: 1 } });
  const [subscription] = transcode.subscriptions;
  if (!subscription) throw new Error('transcode runs one subscription');

  await transcode.start();
  try {
    await subscription.waitUntilCaughtUp({ timeoutMs: 60_000 });

    expect(transcode.name).toBe('transcode');
    expect(subscription.members()).toEqual([0]);
    const parked = await subscription.parkingLot.list();
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ messageId: malformed.id, subscriberId: 'components:transcode', attempts: 1 });
    expect(parked[0]?.error).toMatch(/InvalidMessageError.*transcodeId/);
    const events = await messageStore.read(transcodeStreamName(wellFormed.transcodeId));
    expect(events.map((event) => event.type)).toEqual(['Transcoded']);
    expect(events[0]?.data).toMatchObject({ ...wellFormed, durationSeconds: expect.closeTo(1, 1) as number });
  } finally {
    await transcode.stop();
  }
});
