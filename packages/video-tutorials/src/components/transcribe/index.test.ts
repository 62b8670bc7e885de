import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageStore, type Logger, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { TRANSCRIPTION_MAX_WORDS, Transcribed, transcribeStreamName } from '../../contracts/transcribe.js';
import {
  createTestStorage,
  exampleOriginMetadata,
  exampleTranscription,
  expectedWords,
  recordingLogger,
  requestTranscription,
  requireRecognizer,
  storeCorruptVideo,
  storeSilentVideo,
  storeSpeakingVideo,
  storeVideoWithoutAudio,
  type TestStorage,
} from './controls.js';
import { build, timedWords, type TranscribeOptions } from './index.js';
import { createPocketsphinxRecognizer, NO_RECOGNIZER } from './recognizer.js';
import { NO_AUDIO_TRACK } from './audio.js';

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

function transcribe(overrides: Partial<Omit<TranscribeOptions, 'logger'>> & { logger?: Logger } = {}) {
  return build({ messageStore, storage, ...overrides });
}

const transcriptionEvents = (transcribeId: string) => messageStore.read(transcribeStreamName(transcribeId));

/** The one event the transcription's stream holds; fails when there is not exactly one. */
async function onlyEvent(transcribeId: string) {
  const events = await transcriptionEvents(transcribeId);
  expect(events.map((event) => event.type)).toHaveLength(1);
  return events[0]!;
}

describe('handling Transcribe', () => {
  it('recognizes the speech of the video and records Transcribed, once', async () => {
    const data = exampleTranscription({ uri: await storeSpeakingVideo(storage) });
    const metadata = exampleOriginMetadata();
    const command = await requestTranscription(messageStore, data, metadata);
    const { handlers } = transcribe();

    await handlers.Transcribe(command);
    await handlers.Transcribe(command);

    const transcribed = await onlyEvent(data.transcribeId);
    expect(transcribed.type).toBe('Transcribed');
    expect(transcribed.data).toMatchObject({ transcribeId: data.transcribeId, uri: data.uri });
    const transcription = String(transcribed.data.transcription);
    expect(transcription).toMatch(/^[a-z' ]+$/);
    const heard = transcription.split(' ').filter((word) => expectedWords.includes(word));
    expect(heard, `none of ${expectedWords.join(', ')} in "${transcription}"`).not.toEqual([]);
    // Every word with its times in the video, one after the other.
    const words = Transcribed.parse(transcribed).data.words!;
    expect(words.map(([word]) => word)).toEqual(transcription.split(' '));
    words.forEach(([, start, end], index) => {
      expect(end).toBeGreaterThan(start);
      if (index > 0) expect(start).toBeGreaterThanOrEqual(words[index - 1]![2]);
    });
    expect(words.at(-1)![2]).toBeLessThan(15);
    expect(transcribed.metadata).toMatchObject({
      originStreamName: metadata.originStreamName,
      correlationStreamName: metadata.originStreamName,
      traceId: metadata.traceId,
      userId: metadata.userId,
      causationMessageStreamName: command.streamName,
      causationMessagePosition: command.position,
      causationMessageGlobalPosition: command.globalPosition,
    });
  }, 120_000);

  it('records an empty transcription for a video whose audio is silence', async () => {
    await requireRecognizer();
    const data = exampleTranscription({ uri: await storeSilentVideo(storage) });
    const command = await requestTranscription(messageStore, data);
    const { handlers } = transcribe();

    await handlers.Transcribe(command);
    await handlers.Transcribe(command);

    const event = await onlyEvent(data.transcribeId);
    expect(event.type).toBe('Transcribed');
    expect(event.data).toEqual({ ...data, transcription: '', words: [] });
  });

  it('records TranscribeFailed for a video without an audio track, with the origin copied', async () => {
    const data = exampleTranscription({ uri: await storeVideoWithoutAudio(storage) });
    const metadata = exampleOriginMetadata();
    const command = await requestTranscription(messageStore, data, metadata);
    const { handlers } = transcribe();

    await handlers.Transcribe(command);
    await handlers.Transcribe(command);

    const failed = await onlyEvent(data.transcribeId);
    expect(failed.type).toBe('TranscribeFailed');
    expect(failed.data).toEqual({ ...data, reason: NO_AUDIO_TRACK });
    expect(failed.metadata).toMatchObject({
      originStreamName: metadata.originStreamName,
      correlationStreamName: metadata.originStreamName,
      traceId: metadata.traceId,
      causationMessageGlobalPosition: command.globalPosition,
    });
  });

  it('records TranscribeFailed for a file that is not a video, naming the URI and not the machine’s path', async () => {
    const data = exampleTranscription({ uri: await storeCorruptVideo(storage) });
    const command = await requestTranscription(messageStore, data);
    const { handlers } = transcribe();

    await handlers.Transcribe(command);
    await handlers.Transcribe(command);

    const failed = await onlyEvent(data.transcribeId);
    expect(failed.type).toBe('TranscribeFailed');
    const reason = String(failed.data.reason);
    expect(reason).toMatch(/^The video cannot be read: .*Invalid data found when processing input/);
    expect(reason).toContain(data.uri);
    expect(reason).not.toContain(storage.directory);
  });

  it('records TranscribeFailed for a video that is not in storage, or a URI outside it', async () => {
    const missing = exampleTranscription();
    const outside = exampleTranscription({ uri: 'file:///etc/passwd' });
    const { handlers } = transcribe();

    for (const data of [missing, outside]) {
      const command = await requestTranscription(messageStore, data);
      await handlers.Transcribe(command);
      await handlers.Transcribe(command);
    }

    expect((await onlyEvent(missing.transcribeId)).data.reason).toBe(`The video ${missing.uri} is not in storage`);
    expect((await onlyEvent(outside.transcribeId)).data.reason).toBe('Not a storage URI: file:///etc/passwd');
  });

  it('records TranscribeFailed with what to install when the recognizer is not installed', async () => {
    const uri = await storeSilentVideo(storage);
    const logger = recordingLogger();
    const notInstalled = transcribe({
      logger,
      recognizer: createPocketsphinxRecognizer({ command: '/nonexistent/bin/pocketsphinx_continuous' }),
    });
    const noModel = transcribe({
      recognizer: createPocketsphinxRecognizer({ modelDirectory: '/nonexistent/pocketsphinx/model/en-us' }),
    });

    for (const { handlers } of [notInstalled, noModel]) {
      const data = exampleTranscription({ uri });
      const command = await requestTranscription(messageStore, data);
      await handlers.Transcribe(command);
      await handlers.Transcribe(command);

      const failed = await onlyEvent(data.transcribeId);
      expect(failed.type).toBe('TranscribeFailed');
      expect(failed.data.reason).toBe(NO_RECOGNIZER);
    }
    expect(NO_RECOGNIZER).toBe(
      "No speech recognizer is installed: install Debian's pocketsphinx and pocketsphinx-en-us",
    );
    expect(logger.messages).toEqual(['video not transcribed', 'transcription already settled; nothing to do']);
  });

  it('logs what is missing when the default recognizer is not installed', async () => {
    // The default recognizer tells the component's logger; a substitute PATH hides pocketsphinx_continuous.
    const logger = recordingLogger();
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const data = exampleTranscription({ uri: await storeSilentVideo(storage) });
      const command = await requestTranscription(messageStore, data);
      await transcribe({ logger }).handlers.Transcribe(command);
      expect((await onlyEvent(data.transcribeId)).data.reason).toBe(NO_RECOGNIZER);
    } finally {
      process.env.PATH = savedPath;
    }
    expect(logger.messages).toEqual(['no speech recognizer is installed', 'video not transcribed']);
  });

  it('records TranscribeFailed when a step takes longer than timeoutMs', async () => {
    const data = exampleTranscription({ uri: await storeSilentVideo(storage) });
    const command = await requestTranscription(messageStore, data);
    const { handlers } = transcribe({ timeoutMs: 1 });

    await handlers.Transcribe(command);
    await handlers.Transcribe(command);

    expect((await onlyEvent(data.transcribeId)).data.reason).toBe('Extracting the audio took longer than 0 s');
  });

  it('does nothing for a second Transcribe of a transcription already settled', async () => {
    const data = exampleTranscription({ uri: await storeVideoWithoutAudio(storage) });
    const first = await requestTranscription(messageStore, data);
    const second = await requestTranscription(messageStore, { ...data, uri: await storeSilentVideo(storage) });
    const logger = recordingLogger();
    const { handlers } = transcribe({ logger });

    await handlers.Transcribe(first);
    await handlers.Transcribe(second);
    await handlers.Transcribe(second);

    const failed = await onlyEvent(data.transcribeId);
    expect(failed.data.reason).toBe(NO_AUDIO_TRACK);
    expect(logger.messages.slice(1)).toEqual([
      'transcription already settled; nothing to do',
      'transcription already settled; nothing to do',
    ]);
  });
});

describe('two instances of transcribe', () => {
  // On PostgreSQL the second instance has its own connections, as another process would.
  const anotherStore = () =>
    testDatabase.connectionString ? createMessageStore({ db: testDatabase.connectAgain() }) : messageStore;

  it('record exactly one outcome when they handle the same Transcribe at the same time', async () => {
    await requireRecognizer();
    const data = exampleTranscription({ uri: await storeSilentVideo(storage) });
    const command = await requestTranscription(messageStore, data);
    const oneLogger = recordingLogger();
    const otherLogger = recordingLogger();
    const one = transcribe({ logger: oneLogger });
    const other = transcribe({ logger: otherLogger, messageStore: anotherStore() });

    await Promise.all([one.handlers.Transcribe(command), other.handlers.Transcribe(command)]);
    await Promise.all([one.handlers.Transcribe(command), other.handlers.Transcribe(command)]);

    expect((await onlyEvent(data.transcribeId)).type).toBe('Transcribed');
    // Both transcribed, each having decided before either recorded. The second write is the same event (its id
    // comes from the command), recognized as such.
    expect([oneLogger.messages[0], otherLogger.messages[0]].sort()).toEqual([
      'this outcome was already recorded',
      'video transcribed',
    ]);
    expect([oneLogger.messages[1], otherLogger.messages[1]]).toEqual([
      'transcription already settled; nothing to do',
      'transcription already settled; nothing to do',
    ]);
  });

  it('let the other instance’s outcome stand when it differs and was recorded first', async () => {
    await requireRecognizer();
    const data = exampleTranscription({ uri: await storeSilentVideo(storage) });
    const command = await requestTranscription(messageStore, data);
    const logger = recordingLogger();
    const other = transcribe({ messageStore: anotherStore() });
    let otherHandled: Promise<void> | undefined;
    // A substitute recognizer that fails, but only once the other instance has recorded its outcome.
    const one = transcribe({
      logger,
      recognizer: {
        async recognize() {
          otherHandled ??= other.handlers.Transcribe(command);
          await otherHandled;
          return { recognized: false, reason: 'The substitute recognizer failed' };
        },
      },
    });

    await one.handlers.Transcribe(command);
    await one.handlers.Transcribe(command);

    const event = await onlyEvent(data.transcribeId);
    expect(event.type).toBe('Transcribed');
    expect(logger.messages).toEqual([
      'another instance recorded this transcription first',
      'transcription already settled; nothing to do',
    ]);
  });
});

describe('timedWords', () => {
  it('keeps the words as tuples, times in hundredths of a second', () => {
    expect(
      timedWords([
        { word: 'hello', start: 0.333, end: 0.555 },
        { word: 'world', start: 0.71, end: 1.0449 },
      ]),
    ).toEqual([
      ['hello', 0.33, 0.56],
      ['world', 0.71, 1.04],
    ]);
  });

  it('keeps the event small and valid: the first words only, each word bounded, whatever a recognizer says', () => {
    const many = Array.from({ length: TRANSCRIPTION_MAX_WORDS + 10 }, (_, index) => ({
      word: `w${index}`,
      start: index,
      end: index + 0.5,
    }));
    const kept = timedWords(many);
    expect(kept).toHaveLength(TRANSCRIPTION_MAX_WORDS);
    expect(kept.at(-1)![0]).toBe(`w${TRANSCRIPTION_MAX_WORDS - 1}`);

    const odd = timedWords([
      { word: 'x'.repeat(500), start: 1, end: 2 },
      { word: ` nul\u0000 and\u0007 bell\n `, start: 2, end: 3 },
      { word: `${'y'.repeat(99)}😀`, start: 3, end: 4 },
      { word: '   ', start: 4, end: 5 },
      { word: 'never', start: Number.NaN, end: 6 },
      { word: 'infinite', start: 6, end: Number.POSITIVE_INFINITY },
      { word: 'before', start: -3, end: -1 },
      { word: 'backwards', start: 9, end: 8 },
    ]);
    expect(odd).toEqual([
      ['x'.repeat(100), 1, 2],
      ['nul and bell', 2, 3],
      ['y'.repeat(99), 3, 4],
      ['before', 0, 0],
      ['backwards', 9, 9],
    ]);
    expect(() =>
      Transcribed.create({ transcribeId: randomUUID(), uri: 'storage:x', transcription: '', words: odd }),
    ).not.toThrow();
  });
});
