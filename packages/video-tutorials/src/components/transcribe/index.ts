/**
 * The transcribe component (contract.md): recognizes the speech in the audio
 * track of the video a `Transcribe` command names, offline, and records
 * `Transcribed` or `TranscribeFailed` in the transcription's own stream.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import {
  commandCategory,
  createSubscription,
  doOnce,
  type ConsumerGroup,
  type Logger,
  type MessageStore,
  type StoredMessage,
} from 'message-db-toolkit';
import {
  TRANSCRIPTION_MAX_WORDS,
  TRANSCRIPTION_WORD_MAX_LENGTH,
  Transcribe,
  TranscribeFailed,
  Transcribed,
  transcribeCategory,
  transcribeStreamName,
  type TimedWord,
} from '../../contracts/transcribe.js';
import { pieceOf, type PieceDescriptor } from '../../piece.js';
import type { Storage } from '../../storage.js';
import { extractAudio } from './audio.js';
import {
  createPocketsphinxRecognizer,
  type Recognition,
  type RecognizedWord,
  type SpeechRecognizer,
} from './recognizer.js';
import { isSettled, transcriptionProjection } from './transcription.js';

export interface TranscribeOptions {
  messageStore: MessageStore;
  /** Where the videos the commands' URIs name are. */
  storage: Storage;
  /** Default: Debian's PocketSphinx with its US English model (recognizer.ts). */
  recognizer?: SpeechRecognizer;
  /** Default: the ffmpeg of the `@ffmpeg-installer/ffmpeg` package. */
  ffmpegPath?: string;
  /** How long each step (extracting the audio, recognizing it) may take; default 30 minutes. */
  timeoutMs?: number;
  /** To run several instances: each handles its share of the transcriptions. */
  consumerGroup?: ConsumerGroup;
  logger?: Logger;
}

type Video = { found: true; path: string } | { found: false; reason: string };

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

export const descriptor = {
  name: 'transcribe',
  subscriptions: {
    commands: {
      streamName: commandCategory(transcribeCategory),
      subscriberId: 'components:transcribe',
    },
  },
} as const satisfies PieceDescriptor;

const OUTCOME_NAMESPACE = '8b415a2c-3011-4d27-bc3a-cd73b8bc2060';

export function build({
  messageStore,
  storage,
  ffmpegPath = ffmpegInstaller.path,
  timeoutMs = 30 * 60_000,
  consumerGroup,
  logger = silentLogger,
  recognizer = createPocketsphinxRecognizer({
    onUnavailable: (detail) => logger.warn({ detail }, 'no speech recognizer is installed'),
  }),
}: TranscribeOptions) {
  if (!(timeoutMs > 0)) throw new Error('transcribe needs a timeoutMs above 0');

  const handlers = {
    /**
     * Transcribed once: a transcription already settled is not run again. The outcome is written with the
     * version the decision was made on, so of two instances handling the same transcription only the first
     * records one; its id comes from the command, so the same write repeated is recognized, not rejected.
     */
    async Transcribe(message: StoredMessage): Promise<void> {
      const command = Transcribe.parse(message);
      const { transcribeId, uri } = command.data;
      const done = await doOnce(messageStore, {
        cause: command,
        streamName: transcribeStreamName(transcribeId),
        projection: transcriptionProjection,
        isSettled,
        work: () => transcribeVideo(uri),
        outcome: (recognized: Recognition) =>
          recognized.recognized
            ? Transcribed.create({
                transcribeId,
                uri,
                transcription: recognized.text,
                ...(recognized.words ? { words: timedWords(recognized.words) } : {}),
              })
            : TranscribeFailed.create({ transcribeId, uri, reason: recognized.reason }),
        namespace: OUTCOME_NAMESPACE,
        logger,
        what: 'transcription',
        details: { transcribeId },
      });
      if (done.kind !== 'written') return;
      if (done.result.recognized) logger.info({ transcribeId, uri }, 'video transcribed');
      else logger.warn({ transcribeId, uri, reason: done.result.reason }, 'video not transcribed');
    },
  };

  /** The video's audio, extracted into a temporary directory, then recognized. */
  async function transcribeVideo(uri: string): Promise<Recognition> {
    const video = await locateVideo(uri);
    if (!video.found) return { recognized: false, reason: video.reason };
    const workDirectory = await mkdtemp(path.join(tmpdir(), 'transcribe-'));
    try {
      const wavPath = path.join(workDirectory, 'audio.wav');
      const audio = await extractAudio({ ffmpegPath, videoPath: video.path, wavPath, uri, timeoutMs });
      if (!audio.extracted) return { recognized: false, reason: audio.reason };
      return await recognizer.recognize(wavPath, { timeoutMs });
    } finally {
      await rm(workDirectory, { recursive: true, force: true });
    }
  }

  async function locateVideo(uri: string): Promise<Video> {
    let videoPath: string;
    try {
      videoPath = storage.pathOf(uri);
    } catch (error) {
      return { found: false, reason: error instanceof Error ? error.message : String(error) };
    }
    try {
      await access(videoPath);
    } catch {
      return { found: false, reason: `The video ${uri} is not in storage` };
    }
    return { found: true, path: videoPath };
  }

  const subscription = createSubscription({
    store: messageStore,
    ...descriptor.subscriptions.commands,
    handlers,
    ...(consumerGroup ? { consumerGroup } : {}),
    logger,
  });

  return { ...pieceOf(descriptor.name, [subscription]), handlers };
}

/**
 * The words as the event records them, bounded: at most `TRANSCRIPTION_MAX_WORDS` (the first ones), each word at
 * most `TRANSCRIPTION_WORD_MAX_LENGTH` characters without control characters or lone surrogates (PostgreSQL's
 * jsonb takes neither NUL nor those), times rounded to hundredths of a second (PocketSphinx's frames)
 * and never negative, an end never before its start. Words without text or times are left out.
 */
export function timedWords(words: readonly RecognizedWord[]): TimedWord[] {
  const timed: TimedWord[] = [];
  for (const { word, start, end } of words) {
    if (timed.length >= TRANSCRIPTION_MAX_WORDS) break;
    const text = wordText(word);
    if (text === '' || !Number.isFinite(start) || !Number.isFinite(end)) continue;
    const from = hundredths(Math.max(0, start));
    timed.push([text, from, Math.max(from, hundredths(end))]);
  }
  return timed;
}

const hundredths = (seconds: number) => Math.round(seconds * 100) / 100;

/** The word without control characters or lone surrogates, at most `TRANSCRIPTION_WORD_MAX_LENGTH` long. */
function wordText(word: string): string {
  const text = word
    .replace(/[\p{Cc}\p{Cs}]/gu, '')
    .trim()
    .slice(0, TRANSCRIPTION_WORD_MAX_LENGTH);
  return text.replace(/[\uD800-\uDBFF]$/, ''); // cut inside a surrogate pair: its first half goes too
}

export { createPocketsphinxRecognizer, NO_RECOGNIZER, type SpeechRecognizer } from './recognizer.js';
export { NO_AUDIO_TRACK } from './audio.js';
