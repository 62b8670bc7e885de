import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedWords, requireRecognizer, spokenText, speakToWav } from './controls.js';
import { createPocketsphinxRecognizer, hypothesis, NO_RECOGNIZER } from './recognizer.js';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'transcribe-recognizer-'));
});
afterAll(() => rm(directory, { recursive: true, force: true }));

describe('the PocketSphinx recognizer', () => {
  it('hears some of the words spoken in a WAV file', async () => {
    const wavPath = path.join(directory, 'speech.wav');
    await speakToWav(spokenText, wavPath);

    const recognition = await createPocketsphinxRecognizer().recognize(wavPath, { timeoutMs: 60_000 });

    if (!recognition.recognized) throw new Error(`Not recognized: ${recognition.reason}`);
    const words = recognition.text.split(' ');
    expect(
      words.filter((word) => expectedWords.includes(word)),
      recognition.text,
    ).not.toEqual([]);
  }, 120_000);

  it('fails with the reason PocketSphinx logs for a file that is not 16-bit audio', async () => {
    const wavPath = path.join(directory, 'not-audio.wav');
    await writeFile(wavPath, 'RIFF and then nothing a WAV file would hold');

    await requireRecognizer();

    const recognition = await createPocketsphinxRecognizer().recognize(wavPath, { timeoutMs: 60_000 });

    if (recognition.recognized) throw new Error(`Recognized "${recognition.text}" in a file that is not audio`);
    expect(recognition.reason).toMatch(/^Speech recognition failed: .*bits per sample instead of 16/);
    expect(recognition.reason).toContain("Failed to process file 'the audio'");
    expect(recognition.reason).not.toContain(directory);
  });

  it('says no recognizer is installed, and tells what is missing, when the program or the model is not there', async () => {
    const wavPath = path.join(directory, 'never-read.wav');
    const told: string[] = [];
    const onUnavailable = (detail: string) => void told.push(detail);

    const noProgram = await createPocketsphinxRecognizer({
      command: '/nonexistent/pocketsphinx_continuous',
      onUnavailable,
    }).recognize(wavPath, { timeoutMs: 10_000 });
    const noModel = await createPocketsphinxRecognizer({
      modelDirectory: path.join(directory, 'no-model'),
      onUnavailable,
    }).recognize(wavPath, { timeoutMs: 10_000 });

    expect(noProgram).toEqual({ recognized: false, reason: NO_RECOGNIZER });
    expect(noModel).toEqual({ recognized: false, reason: NO_RECOGNIZER });
    expect(told).toEqual([
      '/nonexistent/pocketsphinx_continuous cannot be run (ENOENT)',
      `the en-us model is incomplete: ${path.join(directory, 'no-model', 'en-us', 'mdef')} is missing`,
    ]);
  });
});

describe('hypothesis', () => {
  it('joins the lines PocketSphinx prints, one per stretch of speech, and drops pronunciation numbers', () => {
    expect(hypothesis('hello world\n\nthis is read(2) aloud  \n')).toBe('hello world this is read aloud');
    expect(hypothesis('')).toBe('');
  });
});
