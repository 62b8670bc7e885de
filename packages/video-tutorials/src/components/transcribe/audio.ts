import { runProcess, seconds, withoutPath } from './child-process.js';

export const NO_AUDIO_TRACK = 'The video has no audio track';

export type AudioExtraction = { extracted: true } | { extracted: false; reason: string };

export interface ExtractAudioOptions {
  ffmpegPath: string;
  videoPath: string;
  /** Where to write the audio: a WAV file, 16 kHz, mono, 16-bit — what the recognizer takes. */
  wavPath: string;
  /** The video's storage URI, named in reasons instead of the machine's path. */
  uri: string;
  timeoutMs: number;
}

/** Writes the first audio track of the video as a WAV file, or says why it cannot. */
export async function extractAudio({
  ffmpegPath,
  videoPath,
  wavPath,
  uri,
  timeoutMs,
}: ExtractAudioOptions): Promise<AudioExtraction> {
  // -nostdin: ffmpeg otherwise reads the terminal for interactive commands. -map 0:a:0: the first audio track.
  const input = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', videoPath, '-map', '0:a:0'];
  const output = ['-ac', '1', '-ar', '16000', '-c:a', 'pcm_s16le', '-f', 'wav', '-y', wavPath];
  const run = await runProcess(ffmpegPath, [...input, ...output], { timeoutMs });
  if (!run.started)
    return { extracted: false, reason: `ffmpeg cannot be run (${run.error.code ?? run.error.message})` };
  if (run.timedOut) return { extracted: false, reason: `Extracting the audio took longer than ${seconds(timeoutMs)}` };
  if (run.exitCode === 0) return { extracted: true };
  if (/Stream map '0:a:0' matches no streams/.test(run.stderr)) return { extracted: false, reason: NO_AUDIO_TRACK };
  return {
    extracted: false,
    reason: `The video cannot be read: ${ffmpegErrors(withoutPath(run.stderr, videoPath, uri))}`,
  };
}

/** ffmpeg's error lines, without the `[mov,mp4,… @ 0x…]` prefixes, on one line. */
function ffmpegErrors(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.replace(/^\[[^\]]*@ 0x[0-9a-f]+\]\s*/, '').trim())
    .filter((line) => line !== '');
  const text = [...new Set(lines)].join('; ');
  if (!text) return 'ffmpeg failed without saying why';
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
