import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runProcess, seconds, withoutPath } from './child-process.js';

/** Offline speech recognition of a WAV file (16 kHz, mono, 16-bit). */
export interface SpeechRecognizer {
  /** The words heard, in order, separated by spaces (empty when nobody speaks) — or why there are none. */
  recognize(wavPath: string, options: { timeoutMs: number }): Promise<Recognition>;
}

export type Recognition = { recognized: true; text: string } | { recognized: false; reason: string };

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
 * Debian's PocketSphinx 5prealpha (`pocketsphinx_continuous -infile`): one
 * line of words on stdout per stretch of speech it hears. Its log goes to a
 * temporary file, read only for the errors when it fails.
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
        const run = await runProcess(
          command,
          ['-infile', wavPath, '-hmm', model.hmm, '-lm', model.lm, '-dict', model.dict, '-logfn', logPath],
          { timeoutMs },
        );
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
        return { recognized: true, text: hypothesis(run.stdout) };
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

/** The stdout lines as one text; `word(2)`, an alternative pronunciation, is the word. */
export function hypothesis(stdout: string): string {
  return stdout
    .split('\n')
    .map((line) => line.replace(/\(\d+\)/g, '').trim())
    .filter((line) => line !== '')
    .join(' ')
    .replace(/\s+/g, ' ');
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
