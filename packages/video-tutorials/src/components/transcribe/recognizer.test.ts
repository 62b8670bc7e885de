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
    // With each word's times: the same words, one after the other, within the clip (about 7 s long).
    const timed = recognition.words ?? [];
    expect(timed.map(({ word }) => word)).toEqual(words);
    timed.forEach(({ start, end }, index) => {
      expect(end).toBeGreaterThan(start);
      if (index > 0) expect(start).toBeGreaterThanOrEqual(timed[index - 1]!.end);
    });
    expect(timed[0]!.start).toBeGreaterThanOrEqual(0);
    expect(timed.at(-1)!.end).toBeLessThan(15);
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
    expect(hypothesis('hello world\n\nthis is read(2) aloud  \n')).toEqual({
      text: 'hello world this is read aloud',
      words: [],
    });
    expect(hypothesis('')).toEqual({ text: '', words: [] });
  });

  it('takes each word’s times from the lines of -time yes, without fillers and pronunciation numbers', () => {
    // As pocketsphinx_continuous -time yes prints two stretches of speech.
    const stdout = [
      'hello world',
      '<s> 0.000 0.320 0.998501',
      'hello 0.330 0.550 0.333228',
      '<sil> 0.560 0.700 0.994713',
      'world 0.710 1.050 0.052311',
      '</s> 1.060 1.280 1.000000',
      'read it',
      '<s> 6.250 6.580 0.998900',
      'read(2) 6.590 6.890 0.004425',
      '[NOISE] 6.900 7.000 0.500133',
      'it 7.010 7.430 0.442067',
      '</s> 7.440 7.480 1.000000',
      '',
    ].join('\n');
    expect(hypothesis(stdout)).toEqual({
      text: 'hello world read it',
      words: [
        { word: 'hello', start: 0.33, end: 0.55 },
        { word: 'world', start: 0.71, end: 1.05 },
        { word: 'read', start: 6.59, end: 6.89 },
        { word: 'it', start: 7.01, end: 7.43 },
      ],
    });
  });
});
