import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runProcess, seconds, withoutPath } from './child-process.js';

/** Offline speech recognition of a WAV file (16 kHz, mono, 16-bit). */
export interface SpeechRecognizer {
  /** The words heard, in order, separated by spaces (empty when nobody speaks) — or why there are none. */
  recognize(wavPath: string, options: { timeoutMs: number }): Promise<Recognition>;
}

/** A word heard, and when: seconds from the start of the audio. */
export interface RecognizedWord {
  word: string;
  start: number;
  end: number;
}

/** `words`, when the recognizer tells when each word was said: the words of `text`, in order. */
export type Recognition =
  { recognized: true; text: string; words?: RecognizedWord[] } | { recognized: false; reason: string };

export const NO_RECOGNIZER = "No speech recognizer is installed: install Debian's pocketsphinx and pocketsphinx-en-us";

export interface PocketsphinxOptions {
  /** The `pocketsphinx_continuous` program (Debian's `pocketsphinx`): a path, or a name looked up on PATH. */
  command?: string;
  /** The US English model (Debian's `pocketsphinx-en-us`). */
  modelDirectory?: string;
  /** Told what is missing when the recognizer is not installed (the reason written says only that). */
  onUnavailable?: (detail: string) => void;
}

export const DEFAULT_POCKETSPHINX_COMMAND = 'pocketsphinx_continuous';
export const DEFAULT_POCKETSPHINX_MODEL_DIRECTORY = '/usr/share/pocketsphinx/model/en-us';

/** The model's files, as Debian's pocketsphinx-en-us lays them out. */
function modelFiles(modelDirectory: string) {
  return {
    hmm: path.join(modelDirectory, 'en-us'),
    lm: path.join(modelDirectory, 'en-us.lm.bin'),
    dict: path.join(modelDirectory, 'cmudict-en-us.dict'),
  };
}

/**
 * Debian's PocketSphinx 5prealpha (`pocketsphinx_continuous -infile … -time yes`): on stdout, per stretch of
 * speech it hears, one line of words, then one line per word with its start and end (seconds from the start
 * of the file) and confidence. Its log goes to a temporary file, read only for the errors when it fails.
 */
export function createPocketsphinxRecognizer({
  command = DEFAULT_POCKETSPHINX_COMMAND,
  modelDirectory = DEFAULT_POCKETSPHINX_MODEL_DIRECTORY,
  onUnavailable = () => {},
}: PocketsphinxOptions = {}): SpeechRecognizer {
  const model = modelFiles(modelDirectory);
  const unavailable = (detail: string): Recognition => {
    onUnavailable(detail);
    return { recognized: false, reason: NO_RECOGNIZER };
  };

  return {
    async recognize(wavPath, { timeoutMs }) {
      const missingModel = await missingModelFile(modelDirectory);
      if (missingModel) return unavailable(`the en-us model is incomplete: ${missingModel} is missing`);
      const logDirectory = await mkdtemp(path.join(tmpdir(), 'pocketsphinx-'));
      const logPath = path.join(logDirectory, 'pocketsphinx.log');
      try {
        const files = ['-infile', wavPath, '-hmm', model.hmm, '-lm', model.lm, '-dict', model.dict, '-logfn', logPath];
        // -time yes: each word's start and end, after each line of words.
        const run = await runProcess(command, [...files, '-time', 'yes'], { timeoutMs });
        if (!run.started) return unavailable(`${command} cannot be run (${run.error.code ?? run.error.message})`);
        if (run.timedOut)
          return { recognized: false, reason: `Speech recognition took longer than ${seconds(timeoutMs)}` };
        if (run.exitCode !== 0) {
          const errors = withoutPath(await logErrors(logPath), wavPath, 'the audio');
          return {
            recognized: false,
            reason: `Speech recognition failed: ${errors || `pocketsphinx exited with code ${String(run.exitCode)}`}`,
          };
        }
        return { recognized: true, ...hypothesis(run.stdout) };
      } finally {
        await rm(logDirectory, { recursive: true, force: true });
      }
    },
  };
}

/** The first of the model's files that is not there, if any. */
export async function missingModelFile(modelDirectory = DEFAULT_POCKETSPHINX_MODEL_DIRECTORY) {
  const { hmm, lm, dict } = modelFiles(modelDirectory);
  for (const file of [path.join(hmm, 'mdef'), lm, dict]) {
    try {
      await access(file);
    } catch {
      return file;
    }
  }
  return undefined;
}

/** A word's line of `-time yes`: `word start end confidence`, e.g. `tutorial 1.420 1.980 0.447225`. */
const WORD_TIME_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\S+)$/;
/** What is not a word: `<s>`, `</s>`, `<sil>` (silence), `[NOISE]`, `[SPEECH]`, `++NOISE++`. */
const FILLER = /^(<.*>|\[.*\]|\+\+.*\+\+)$/;
/** `word(2)`, an alternative pronunciation, is the word. */
const withoutPronunciation = (text: string) => text.replace(/\(\d+\)/g, '');

/**
 * What PocketSphinx printed: the lines of words as one text, and the words with their times from the lines of
 * `-time yes` (fillers left out). Without such lines (a recognizer run without `-time yes`), `words` is empty.
 */
export function hypothesis(stdout: string): { text: string; words: RecognizedWord[] } {
  const lines: string[] = [];
  const words: RecognizedWord[] = [];
  for (const line of stdout.split('\n').map((each) => each.trim())) {
    const timed = WORD_TIME_LINE.exec(line);
    if (timed) {
      const word = withoutPronunciation(timed[1]!);
      if (!FILLER.test(word) && word !== '') words.push({ word, start: Number(timed[2]), end: Number(timed[3]) });
    } else if (line !== '') lines.push(withoutPronunciation(line).trim());
  }
  return {
    text: lines
      .filter((line) => line !== '')
      .join(' ')
      .replace(/\s+/g, ' '),
    words,
  };
}

/** The ERROR and FATAL lines of a PocketSphinx log, without their source positions. */
async function logErrors(logPath: string): Promise<string> {
  const log = await readFile(logPath, 'utf8').catch(() => '');
  return log
    .split('\n')
    .filter((line) => /^(ERROR|FATAL)/.test(line))
    .map((line) => line.replace(/^(ERROR|FATAL(?:_ERROR)?): "[^"]*", line \d+: /, '').trim())
    .join('; ')
    .slice(0, 500);
}
