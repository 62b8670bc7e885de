import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMessageStore, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { transcribeStreamName } from '../../contracts/transcribe.js';
import { NO_AUDIO_TRACK } from './audio.js';
import {
  createTestStorage,
  exampleTranscription,
  requestTranscription,
  storeVideoWithoutAudio,
  type TestStorage,
} from './controls.js';
import { build } from './index.js';

let testDatabase: TestDatabase;
let messageStore: MessageStore;
let storage: TestStorage;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  messageStore = createMessageStore({ db: testDatabase.db });
  storage = await createTestStorage();
});
afterAll(async () => {
  await storage.remove();
  await testDatabase.drop();
});

it('parks a malformed Transcribe and goes on with the commands after it, once each', async () => {
  const malformed = await requestTranscription(messageStore, exampleTranscription({ uri: '' }));
  const wellFormed = exampleTranscription({ uri: await storeVideoWithoutAudio(storage) });
  const wellFormedCommand = await requestTranscription(messageStore, wellFormed);
  const transcribe = build({ messageStore, storage, consumerGroup: { member: 0, size: 1 } });
  const [subscription] = transcribe.subscriptions;
  if (!subscription) throw new Error('transcribe runs one subscription');

  await transcribe.start();
  try {
    await subscription.waitUntilCaughtUp();
    await transcribe.handlers.Transcribe(wellFormedCommand);

    expect(transcribe.name).toBe('transcribe');
    expect(subscription.members()).toEqual([0]);
    const parked = await subscription.parkingLot.list();
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ messageId: malformed.id, subscriberId: 'components:transcribe', attempts: 1 });
    expect(parked[0]?.error).toMatch(/InvalidMessageError.*uri/);
    expect(await messageStore.read(transcribeStreamName(String(malformed.data.transcribeId)))).toEqual([]);
    const events = await messageStore.read(transcribeStreamName(wellFormed.transcribeId));
    expect(events.map((event) => [event.type, event.data.reason])).toEqual([['TranscribeFailed', NO_AUDIO_TRACK]]);
  } finally {
    await transcribe.stop();
  }
});
