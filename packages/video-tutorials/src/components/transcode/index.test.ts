import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageStore, type Logger, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { transcodeStreamName } from '../../contracts/transcode.js';
import type { Storage } from '../../storage.js';
import {
  createTestStorage,
  describeMedia,
  exampleOriginMetadata,
  exampleTranscode,
  ffmpegPath,
  filesIn,
  makeClip,
  makeStill,
  recordingLogger,
  requestTranscode,
  writeFileAt,
} from './controls.js';
import { build } from './index.js';

let testDatabase: TestDatabase;
let messageStore: MessageStore;
let storage: Awaited<ReturnType<typeof createTestStorage>>;
/** Test clips, made once: a 3 s 1080p clip with sound, a 3 s silent one, a small portrait one. */
const clips = { hd: '', silent: '', portrait: '' };

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  messageStore = createMessageStore({ db: testDatabase.db });
  storage = await createTestStorage();
  clips.hd = await makeClip(storage, 'uploads/hd.mov', { size: '1920x1080', seconds: 3, audio: true });
  clips.silent = await makeClip(storage, 'uploads/silent.mkv', { size: '640x480', seconds: 3, audio: false });
  clips.portrait = await makeClip(storage, 'uploads/portrait.mov', { size: '480x854', seconds: 2, audio: true });
});
afterAll(async () => {
  await storage?.remove();
  await testDatabase?.drop();
});

function transcode(
  overrides: { store?: MessageStore; logger?: Logger; timeoutMs?: number; ffmpegPath?: string; storage?: Storage } = {},
) {
  return build({
    messageStore: overrides.store ?? messageStore,
    storage: overrides.storage ?? storage,
    ffmpegPath: overrides.ffmpegPath ?? ffmpegPath,
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    ...(overrides.timeoutMs ? { timeoutMs: overrides.timeoutMs } : {}),
  });
}

const transcodeEvents = (command: StoredMessage) =>
  messageStore.read(transcodeStreamName(String(command.data.transcodeId)));

/** The one event recorded for the command; fails when there is not exactly one. */
async function onlyOutcomeOf(command: StoredMessage) {
  const events = await transcodeEvents(command);
  expect(events).toHaveLength(1);
  return events[0]!;
}

/** No `.partial` left anywhere an output is written. */
async function expectNoPartialFiles() {
  const files = [...(await filesIn(storage, 'transcoded')), ...(await filesIn(storage, 'posters'))];
  expect(files.filter((name) => name.endsWith('.partial'))).toEqual([]);
}

async function expectWebVideo(uri: unknown, expected: { width: number; height: number; audio: boolean }) {
  const media = await describeMedia(storage, String(uri));
  expect(media.format).toMatch(/mp4/);
  expect(media.video).toMatchObject({ codec: 'h264', width: expected.width, height: expected.height });
  if (expected.audio) expect(media.audio).toMatchObject({ codec: 'aac' });
  else expect(media.audio).toBeNull();
  return media;
}

async function expectPoster(uri: unknown, expected: { width: number }) {
  const bytes = await readFile(storage.pathOf(String(uri)));
  expect([...bytes.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]); // a JPEG's start-of-image marker
  const media = await describeMedia(storage, String(uri));
  expect(media.video).toMatchObject({ codec: 'mjpeg', width: expected.width });
}

describe('handling Transcode', () => {
  it('turns a 1080p video into a 720p H.264/AAC MP4 and a poster, and records Transcoded, once', async () => {
    const data = exampleTranscode({ uri: clips.hd });
    const command = await requestTranscode(messageStore, data);
    const { handlers } = transcode();

    const startedAt = performance.now();
    await handlers.Transcode(command);
    const elapsedMs = performance.now() - startedAt;
    await handlers.Transcode(command);
    console.log(`transcoding the 3 s 1920x1080 clip (with its poster) took ${Math.round(elapsedMs)} ms`);

    const transcoded = await onlyOutcomeOf(command);
    expect(transcoded.type).toBe('Transcoded');
    expect(transcoded.data).toEqual({
      ...data,
      transcodedUri: `storage:transcoded/${data.transcodeId}.mp4`,
      posterUri: `storage:posters/${data.transcodeId}.jpg`,
      durationSeconds: expect.closeTo(3, 1) as number,
    });
    const video = await expectWebVideo(transcoded.data.transcodedUri, { width: 1280, height: 720, audio: true });
    expect(video.durationSeconds).toBeCloseTo(3, 1);
    await expectPoster(transcoded.data.posterUri, { width: 640 });
    await expectNoPartialFiles();
  });

  it('transcodes a video without an audio track, never scaling it up', async () => {
    const command = await requestTranscode(messageStore, exampleTranscode({ uri: clips.silent }));
    const { handlers } = transcode();

    await handlers.Transcode(command);
    await handlers.Transcode(command);

    const transcoded = await onlyOutcomeOf(command);
    expect(transcoded.type).toBe('Transcoded');
    expect(transcoded.data.durationSeconds).toBeCloseTo(3, 1);
    const video = await expectWebVideo(transcoded.data.transcodedUri, { width: 640, height: 480, audio: false });
    expect(video.durationSeconds).toBeCloseTo(3, 1);
    await expectPoster(transcoded.data.posterUri, { width: 640 });
  });

  it('fits a portrait video into 1280x720 keeping its aspect ratio, at even dimensions', async () => {
    const command = await requestTranscode(messageStore, exampleTranscode({ uri: clips.portrait }));
    const { handlers } = transcode();

    await handlers.Transcode(command);
    await handlers.Transcode(command);

    const transcoded = await onlyOutcomeOf(command);
    expect(transcoded.type).toBe('Transcoded');
    const { video } = await describeMedia(storage, String(transcoded.data.transcodedUri));
    expect(video?.height).toBeGreaterThanOrEqual(718);
    expect(video?.height).toBeLessThanOrEqual(720);
    expect(video!.width % 2).toBe(0);
    expect(video!.height % 2).toBe(0);
    expect(video!.width / video!.height).toBeCloseTo(480 / 854, 2);
    expect(transcoded.data.durationSeconds).toBeCloseTo(2, 1);
  });

  it('copies the origin, trace and user onto the outcome and records the Transcode as its cause', async () => {
    const metadata = exampleOriginMetadata();
    const command = await requestTranscode(messageStore, exampleTranscode({ uri: clips.portrait }), metadata);
    const { handlers } = transcode();

    await handlers.Transcode(command);
    await handlers.Transcode(command);

    const transcoded = await onlyOutcomeOf(command);
    expect(transcoded.type).toBe('Transcoded');
    expect(transcoded.metadata).toMatchObject({
      originStreamName: metadata.originStreamName,
      correlationStreamName: metadata.originStreamName,
      traceId: metadata.traceId,
      userId: metadata.userId,
      causationMessageStreamName: command.streamName,
      causationMessagePosition: command.position,
      causationMessageGlobalPosition: command.globalPosition,
    });
  });

  it('does nothing for another Transcode of a transcode already recorded', async () => {
    const data = exampleTranscode({ uri: clips.portrait });
    const first = await requestTranscode(messageStore, data);
    const second = await requestTranscode(messageStore, data);
    const logger = recordingLogger();
    const { handlers } = transcode({ logger });

    await handlers.Transcode(first);
    await handlers.Transcode(second);
    await handlers.Transcode(second);

    const transcoded = await onlyOutcomeOf(first);
    expect(transcoded.metadata.causationMessageGlobalPosition).toBe(first.globalPosition);
    expect(logger.messages).toEqual([
      'video transcoded',
      'transcode already settled; nothing to do',
      'transcode already settled; nothing to do',
    ]);
  });

  it('transcodes again over outputs left by an attempt that recorded nothing', async () => {
    const data = exampleTranscode({ uri: clips.portrait });
    await writeFileAt(storage, `transcoded/${data.transcodeId}.mp4`, 'half a video');
    await writeFileAt(storage, `posters/${data.transcodeId}.jpg`, 'half a poster');
    const command = await requestTranscode(messageStore, data);
    const { handlers } = transcode();

    await handlers.Transcode(command);
    await handlers.Transcode(command);

    const transcoded = await onlyOutcomeOf(command);
    expect(transcoded.type).toBe('Transcoded');
    const { video } = await describeMedia(storage, String(transcoded.data.transcodedUri));
    expect(video?.codec).toBe('h264');
    await expectPoster(transcoded.data.posterUri, { width: 404 });
  });
});

describe('a Transcode that cannot succeed', () => {
  /** Handles the command twice and returns the reason of the one TranscodeFailed recorded. */
  async function failureReasonFor(uri: string, options: { timeoutMs?: number; ffmpegPath?: string } = {}) {
    const data = exampleTranscode({ uri });
    const metadata = exampleOriginMetadata();
    const command = await requestTranscode(messageStore, data, metadata);
    const { handlers } = transcode(options);

    await handlers.Transcode(command);
    await handlers.Transcode(command);

    const failed = await onlyOutcomeOf(command);
    expect(failed.type).toBe('TranscodeFailed');
    expect(failed.data).toMatchObject(data);
    expect(failed.metadata.originStreamName).toBe(metadata.originStreamName);
    expect(await filesIn(storage, 'transcoded')).not.toContain(`${data.transcodeId}.mp4`);
    expect(await filesIn(storage, 'posters')).not.toContain(`${data.transcodeId}.jpg`);
    await expectNoPartialFiles();
    const reason = String(failed.data.reason);
    expect(reason).not.toContain(storage.directory); // no machine paths in messages
    return reason;
  }

  it('records TranscodeFailed for a file of random bytes', async () => {
    const uri = await writeFileAt(storage, 'uploads/random.mov', randomBytes(64 * 1024));
    expect(await failureReasonFor(uri)).toMatch(/^The file is not a video ffmpeg can read: .*Invalid data/);
  });

  it('records TranscodeFailed for an empty file', async () => {
    const uri = await writeFileAt(storage, 'uploads/empty.mp4', '');
    expect(await failureReasonFor(uri)).toBe('The file is not a video ffmpeg can read: it is empty');
  });

  it('records TranscodeFailed for a still picture', async () => {
    const uri = await makeStill(storage, 'uploads/still.jpg');
    expect(await failureReasonFor(uri)).toMatch(/^The file is not a video ffmpeg can read: it is a still image/);
  });

  it('records TranscodeFailed for a file that is not there', async () => {
    expect(await failureReasonFor('storage:uploads/missing.mp4')).toBe('No file at storage:uploads/missing.mp4');
  });

  it('records TranscodeFailed for a URI outside storage', async () => {
    expect(await failureReasonFor('https://videos.example/lesson.mp4')).toMatch(
      /^Cannot read https:\/\/videos.example\/lesson.mp4: Not a storage URI/,
    );
  });

  it('records TranscodeFailed with ffmpeg’s last words when ffmpeg fails to transcode', async () => {
    // A substitute ffmpeg: the real one, except that its encoder breaks.
    const failingFfmpeg = path.join(storage.directory, 'bin', 'failing-ffmpeg');
    await mkdir(path.dirname(failingFfmpeg), { recursive: true });
    await writeFile(
      failingFfmpeg,
      `#!/bin/sh\ncase "$*" in *libx264*) echo "[libx264 @ 0x1] broken encoder" >&2; echo "Conversion failed!" >&2; exit 1;; esac\nexec "${ffmpegPath}" "$@"\n`,
      { mode: 0o755 },
    );
    expect(await failureReasonFor(clips.portrait, { ffmpegPath: failingFfmpeg })).toBe(
      `ffmpeg could not transcode ${clips.portrait}: broken encoder`,
    );
  });

  it('records TranscodeFailed when ffmpeg takes longer than timeoutMs, and leaves no partial file', async () => {
    expect(await failureReasonFor(clips.hd, { timeoutMs: 400 })).toMatch(
      /^Transcoding storage:uploads\/hd.mov took longer than 0.4 s; ffmpeg was stopped while /,
    );
  });
});

describe('two instances of transcode', () => {
  // On PostgreSQL the second instance has its own connections, as another process would.
  const otherStore = () =>
    testDatabase.connectionString ? createMessageStore({ db: testDatabase.connectAgain() }) : messageStore;

  it('record exactly one outcome when they handle the same Transcode at the same time', async () => {
    const command = await requestTranscode(messageStore, exampleTranscode({ uri: clips.portrait }));
    const logger = recordingLogger();
    const one = transcode({ logger });
    const other = transcode({ store: otherStore(), logger });

    await Promise.all([one.handlers.Transcode(command), other.handlers.Transcode(command)]);
    await Promise.all([one.handlers.Transcode(command), other.handlers.Transcode(command)]);

    const transcoded = await onlyOutcomeOf(command);
    expect(transcoded.type).toBe('Transcoded');
    // Both transcoded (neither had recorded yet); the second write, of the same event id, was recognized.
    expect(logger.messages.filter((message) => message === 'video transcoded')).toHaveLength(2);
    const { video } = await describeMedia(storage, String(transcoded.data.transcodedUri));
    expect(video?.codec).toBe('h264');
    await expectNoPartialFiles();
  });

  it('record exactly one outcome when they handle two Transcodes of one transcode at the same time', async () => {
    const data = exampleTranscode({ uri: clips.portrait });
    const first = await requestTranscode(messageStore, data);
    const second = await requestTranscode(messageStore, data);
    const logger = recordingLogger();
    const one = transcode({ logger });
    const other = transcode({ store: otherStore(), logger });

    await Promise.all([one.handlers.Transcode(first), other.handlers.Transcode(second)]);
    await Promise.all([one.handlers.Transcode(first), other.handlers.Transcode(second)]);

    const transcoded = await onlyOutcomeOf(first);
    expect(transcoded.type).toBe('Transcoded');
    // Two commands, two event ids: the later write met the expected version of an empty stream, and conflicted.
    expect(logger.messages.filter((message) => message === 'another instance recorded this transcode first')).toEqual([
      'another instance recorded this transcode first',
    ]);
    await expectNoPartialFiles();
  });
});

describe('trouble of the machine’s own', () => {
  it('is not recorded as the video’s failure: the handler throws, for the subscription to retry and park', async () => {
    const unwritable = await createTestStorage();
    try {
      const uri = await writeFileAt(unwritable, 'uploads/portrait.mov', await readFile(storage.pathOf(clips.portrait)));
      await writeFile(path.join(unwritable.directory, 'transcoded'), 'a file where the folder should be');
      const command = await requestTranscode(messageStore, exampleTranscode({ uri }));
      const { handlers } = transcode({ storage: unwritable });

      await expect(handlers.Transcode(command)).rejects.toThrow(/EEXIST|ENOTDIR/);
      await expect(handlers.Transcode(command)).rejects.toThrow(/EEXIST|ENOTDIR/);

      expect(await transcodeEvents(command)).toEqual([]);
    } finally {
      await unwritable.remove();
    }
  });
});

describe('build', () => {
  it('refuses an ffmpegPath with no executable, at once', () => {
    expect(() => build({ messageStore, storage, ffmpegPath: '/nowhere/ffmpeg' })).toThrow(
      'transcode cannot run ffmpeg: no executable at /nowhere/ffmpeg',
    );
  });
});
