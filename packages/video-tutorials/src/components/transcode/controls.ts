/**
 * Controls for the transcode tests: canonical messages, a storage directory
 * of its own, test clips made by the same ffmpeg, and a way to look at what
 * came out.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger, MessageMetadata, MessageStore, StoredMessage } from 'message-db-toolkit';
import { Transcode, transcodeCommandStreamName } from '../../contracts/transcode.js';
import { createStorage, type Storage } from '../../storage.js';
import { installedFfmpegPath, parseMediaInfo, probeArgs, runFfmpeg, type MediaInfo } from './ffmpeg.js';

export const ffmpegPath = installedFfmpegPath();

export function exampleTranscode(overrides: Partial<Transcode['data']> = {}): Transcode['data'] {
  return { transcodeId: randomUUID(), uri: 'storage:uploads/example.mov', ...overrides };
}

/** What video-publishing sets when it asks for a transcode. */
export function exampleOriginMetadata(overrides: MessageMetadata = {}): MessageMetadata {
  return {
    traceId: randomUUID(),
    userId: randomUUID(),
    originStreamName: `videoPublishing-${randomUUID()}`,
    ...overrides,
  };
}

/** Writes a `Transcode` as a requester would and returns it as stored. Data is not validated: tests send bad ones too. */
export async function requestTranscode(
  store: MessageStore,
  data: Record<string, unknown> = exampleTranscode(),
  metadata: MessageMetadata = exampleOriginMetadata(),
): Promise<StoredMessage> {
  const streamName = transcodeCommandStreamName(String(data.transcodeId));
  const { position } = await store.write(streamName, { id: randomUUID(), type: Transcode.type, data, metadata });
  const [stored] = await store.read(streamName, { from: position, max: 1 });
  if (!stored) throw new Error(`The Transcode just written to ${streamName} cannot be read back`);
  return stored;
}

/** A storage directory of the test's own. */
export async function createTestStorage(): Promise<Storage & { remove(): Promise<void> }> {
  const storage = createStorage(await mkdtemp(path.join(tmpdir(), 'transcode-')));
  return { ...storage, remove: () => rm(storage.directory, { recursive: true, force: true }) };
}

export interface ClipOptions {
  /** `1920x1080` */
  size: string;
  seconds: number;
  /** A 440 Hz tone alongside the picture. */
  audio: boolean;
}

/**
 * Makes a test clip at `key` (e.g. `uploads/hd.mov`) with ffmpeg's test
 * sources, in MPEG-4 Part 2 video (and PCM audio), so transcoding it is real
 * work. The container follows the key's extension.
 */
export async function makeClip(storage: Storage, key: string, { size, seconds, audio }: ClipOptions): Promise<string> {
  const uri = storage.uriOf(key);
  const file = storage.pathOf(uri);
  await mkdir(path.dirname(file), { recursive: true });
  const run = await runFfmpeg(
    ffmpegPath,
    [
      ...['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${size}:rate=25`],
      ...(audio ? ['-f', 'lavfi', '-i', 'sine=frequency=440'] : []),
      ...['-t', String(seconds), '-c:v', 'mpeg4', '-q:v', '5'],
      ...(audio ? ['-c:a', 'pcm_s16le'] : []),
      file,
    ],
    { timeoutMs: 60_000 },
  );
  if (run.exitCode !== 0) throw new Error(`ffmpeg could not make the test clip ${key}: ${run.stderr}`);
  return uri;
}

/** A single picture, which ffmpeg reads but is no video. */
export async function makeStill(storage: Storage, key: string): Promise<string> {
  const uri = storage.uriOf(key);
  const file = storage.pathOf(uri);
  await mkdir(path.dirname(file), { recursive: true });
  const run = await runFfmpeg(
    ffmpegPath,
    ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240', '-frames:v', '1', '-f', 'image2', file],
    { timeoutMs: 60_000 },
  );
  if (run.exitCode !== 0) throw new Error(`ffmpeg could not make the test picture ${key}: ${run.stderr}`);
  return uri;
}

/** Writes `content` at `key`: random bytes, an empty file, a stale output. */
export async function writeFileAt(storage: Storage, key: string, content: Buffer | string): Promise<string> {
  const uri = storage.uriOf(key);
  const file = storage.pathOf(uri);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return uri;
}

/** What ffmpeg reads in a stored file. */
export async function describeMedia(storage: Storage, uri: string): Promise<MediaInfo> {
  const run = await runFfmpeg(ffmpegPath, probeArgs(storage.pathOf(uri)), { timeoutMs: 60_000 });
  return parseMediaInfo(run.stderr);
}

/** Every file in a storage folder, hidden `.partial` files included. */
export async function filesIn(storage: Storage, folder: string): Promise<string[]> {
  return readdir(path.join(storage.directory, folder)).catch(() => []);
}

/** A logger that keeps what it is told, for tests that check which way a handler went. */
export function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const record = (_details: object, message: string) => void messages.push(message);
  return { messages, info: record, warn: record, error: record };
}
