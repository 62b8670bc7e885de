/**
 * Controls for the transcribe tests: canonical messages, and real videos made
 * on the spot with ffmpeg (and espeak-ng for speech) in a temporary storage.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import type { Logger, MessageMetadata, MessageStore, StoredMessage } from 'message-db-toolkit';
import { Transcribe, transcribeCommandStreamName } from '../../contracts/transcribe.js';
import { createStorage, type Storage } from '../../storage.js';
import { runProcess } from './child-process.js';
import { DEFAULT_POCKETSPHINX_COMMAND, missingModelFile } from './recognizer.js';

export function exampleTranscription(overrides: Partial<Transcribe['data']> = {}): Transcribe['data'] {
  return { transcribeId: randomUUID(), uri: `storage:uploads/${randomUUID()}.mp4`, ...overrides };
}

/** As video-publishing, the process manager, asks: on behalf of a video. */
export function exampleOriginMetadata(overrides: MessageMetadata = {}): MessageMetadata {
  return {
    traceId: randomUUID(),
    userId: randomUUID(),
    originStreamName: `videoPublishing-${randomUUID()}`,
    ...overrides,
  };
}

/** Writes a `Transcribe` as a requester would and returns it as stored. Data is not validated: tests send bad ones too. */
export async function requestTranscription(
  store: MessageStore,
  data: Record<string, unknown> = exampleTranscription(),
  metadata: MessageMetadata = exampleOriginMetadata(),
): Promise<StoredMessage> {
  const streamName = transcribeCommandStreamName(String(data.transcribeId));
  const { position } = await store.write(streamName, { id: randomUUID(), type: Transcribe.type, data, metadata });
  const [stored] = await store.read(streamName, { from: position, max: 1 });
  if (!stored) throw new Error(`The Transcribe just written to ${streamName} cannot be read back`);
  return stored;
}

/** A logger that keeps what it is told, for tests that check which way a handler went. */
export function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const record = (_details: object, message: string) => void messages.push(message);
  return { messages, info: record, warn: record, error: record };
}

export interface TestStorage extends Storage {
  remove(): Promise<void>;
}

export async function createTestStorage(): Promise<TestStorage> {
  const directory = await mkdtemp(path.join(tmpdir(), 'transcribe-storage-'));
  return Object.assign(createStorage(directory), {
    remove: () => rm(directory, { recursive: true, force: true }),
  });
}

/** What the speaking video says: several sentences, so that an imperfect recognizer gets some of it right. */
export const spokenText =
  'hello world. this is a video tutorial about microservices. good morning everybody, this is a video about software.';

/**
 * Words of `spokenText` PocketSphinx hears in espeak-ng's voice — not all of
 * them, and not the same ones with every version of either: a transcription
 * with any of them was heard, not made up.
 */
export const expectedWords = [
  'hello',
  'world',
  'this',
  'video',
  'tutorial',
  'about',
  'micro',
  'microservices',
  'services',
  'morning',
  'everybody',
  'software',
];

export const INSTALL_SPEECH_TOOLS = 'apt-get install pocketsphinx pocketsphinx-en-us espeak-ng';

/**
 * Fails — never skips — when espeak-ng (to speak the test's words) or
 * PocketSphinx (to hear them) is missing, saying what to install.
 */
export async function requireSpeechTools(): Promise<void> {
  const missing = await missingTools({ espeak: true });
  if (missing.length > 0)
    throw new Error(
      `The speech tests need espeak-ng and PocketSphinx: ${missing.join('; ')}. Run: ${INSTALL_SPEECH_TOOLS}`,
    );
}

/** Fails — never skips — when PocketSphinx is missing, for tests that expect the real recognizer to run. */
export async function requireRecognizer(): Promise<void> {
  const missing = await missingTools({ espeak: false });
  if (missing.length > 0)
    throw new Error(`This test needs PocketSphinx: ${missing.join('; ')}. Run: ${INSTALL_SPEECH_TOOLS}`);
}

async function missingTools({ espeak }: { espeak: boolean }): Promise<string[]> {
  const missing: string[] = [];
  if (espeak && !(await runProcess('espeak-ng', ['--version'], { timeoutMs: 10_000 })).started)
    missing.push('espeak-ng is not installed');
  if (!(await runProcess(DEFAULT_POCKETSPHINX_COMMAND, [], { timeoutMs: 10_000 })).started)
    missing.push(`${DEFAULT_POCKETSPHINX_COMMAND} is not installed`);
  const missingModel = await missingModelFile();
  if (missingModel) missing.push(`the PocketSphinx en-us model is missing (${missingModel})`);
  return missing;
}

/** An mp4 (a test pattern) whose audio track speaks `spokenText`. Needs espeak-ng. */
export async function storeSpeakingVideo(storage: Storage): Promise<string> {
  await requireSpeechTools();
  return storeVideo(storage, async (workDirectory) => {
    const speech = path.join(workDirectory, 'speech.wav');
    await run('espeak-ng', ['-w', speech, spokenText]);
    return [...testPattern(), '-i', speech, '-shortest'];
  });
}

/** An mp4 with a video track and no audio track at all. */
export function storeVideoWithoutAudio(storage: Storage): Promise<string> {
  return storeVideo(storage, async () => [...testPattern(), '-t', '1']);
}

/** An mp4 whose audio track is silence: nothing to hear, yet something to recognize. */
export function storeSilentVideo(storage: Storage): Promise<string> {
  return storeVideo(storage, async () => [
    ...testPattern(),
    '-f',
    'lavfi',
    '-i',
    'anullsrc=r=44100:cl=mono',
    '-t',
    '1',
  ]);
}

/** A file named `.mp4` that holds random bytes. */
export async function storeCorruptVideo(storage: Storage): Promise<string> {
  const uri = storage.uriOf(`uploads/${randomUUID()}.mp4`);
  await mkdir(path.dirname(storage.pathOf(uri)), { recursive: true });
  await writeFile(storage.pathOf(uri), randomBytes(5_000));
  return uri;
}

/** Speaks `text` into a 16 kHz mono WAV file, as the recognizer takes it. Needs espeak-ng. */
export async function speakToWav(text: string, wavPath: string): Promise<void> {
  await requireSpeechTools();
  const spoken = `${wavPath}.espeak.wav`;
  await run('espeak-ng', ['-w', spoken, text]);
  await run(ffmpegInstaller.path, ['-nostdin', '-y', '-i', spoken, '-ac', '1', '-ar', '16000', wavPath]);
  await rm(spoken);
}

const testPattern = () => ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25'];

async function storeVideo(storage: Storage, inputs: (workDirectory: string) => Promise<string[]>): Promise<string> {
  const uri = storage.uriOf(`uploads/${randomUUID()}.mp4`);
  const videoPath = storage.pathOf(uri);
  await mkdir(path.dirname(videoPath), { recursive: true });
  const workDirectory = await mkdtemp(path.join(tmpdir(), 'transcribe-video-'));
  try {
    const args = ['-nostdin', '-loglevel', 'error', ...(await inputs(workDirectory))];
    await run(ffmpegInstaller.path, [...args, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-y', videoPath]);
  } finally {
    await rm(workDirectory, { recursive: true, force: true });
  }
  return uri;
}

async function run(command: string, args: string[]): Promise<void> {
  const result = await runProcess(command, args, { timeoutMs: 60_000 });
  if (!result.started) throw new Error(`${command} cannot be run (${result.error.code}): ${INSTALL_SPEECH_TOOLS}`);
  if (result.timedOut || result.exitCode !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
}
