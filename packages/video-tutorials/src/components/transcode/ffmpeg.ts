/**
 * ffmpeg, run as a child process (never through a shell): what the transcode
 * component asks of it, and how it reads ffmpeg's answers.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

/** How one run of ffmpeg ended. `stderr` is capped: its beginning and its end are kept. */
export interface FfmpegRun {
  exitCode: number | null;
  timedOut: boolean;
  stderr: string;
}

const STDERR_KEPT = 32 * 1024;

/**
 * Runs ffmpeg with `args` and resolves when it has exited, whatever the exit
 * code; kills it (SIGKILL) after `timeoutMs`. Rejects only when ffmpeg cannot
 * be started at all (e.g. no executable at `ffmpegPath`).
 */
export function runFfmpeg(
  ffmpegPath: string,
  args: string[],
  { timeoutMs }: { timeoutMs: number },
): Promise<FfmpegRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpegPath, ['-hide_banner', '-nostdin', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      windowsHide: true,
    });
    let head = '';
    let tail = '';
    let truncated = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (head.length < STDERR_KEPT) {
        const room = STDERR_KEPT - head.length;
        head += chunk.slice(0, room);
        chunk = chunk.slice(room);
      }
      if (!chunk) return;
      tail += chunk;
      if (tail.length > STDERR_KEPT) {
        tail = tail.slice(-STDERR_KEPT);
        truncated = true;
      }
    });
    let timedOut = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGKILL');
      },
      Math.max(0, timeoutMs),
    );
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`ffmpeg could not be started (${ffmpegPath}): ${error.message}`, { cause: error }));
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, timedOut, stderr: truncated ? `${head}\n…\n${tail}` : head + tail });
    });
  });
}

/** The last few lines ffmpeg wrote to stderr that say something, for a failure reason. */
export function lastLines(stderr: string, count = 2): string[] {
  const lines = stderr
    .split(/\r?\n|\r/)
    .map((line) => line.replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, '').trim())
    .filter((line) => line && line !== '…' && !NOISE.some((noise) => noise.test(line)));
  return [...new Set(lines.slice(-count * 2))].slice(-count);
}

const NOISE = [/^At least one output file must be specified$/, /misdetection possible!$/, /^Conversion failed!$/];

/** What `ffmpeg -i` says about a file. */
export interface MediaInfo {
  /** The demuxer's name(s), e.g. `mov,mp4,m4a,3gp,3g2,mj2`; null when ffmpeg could not read the file. */
  format: string | null;
  durationSeconds: number | null;
  /** The first video stream that is not an attached picture (cover art). */
  video: { index: number; codec: string; width: number; height: number } | null;
  audio: { index: number; codec: string } | null;
}

/** Reads the `Input #0` section ffmpeg prints for `ffmpeg -i file`. */
export function parseMediaInfo(stderr: string): MediaInfo {
  const format = /^Input #0, (.+?), from '/m.exec(stderr)?.[1] ?? null;
  const duration = /Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(stderr);
  const durationSeconds = duration
    ? Math.round((Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3])) * 1000) / 1000
    : null;
  let video: MediaInfo['video'] = null;
  let audio: MediaInfo['audio'] = null;
  for (const [, index, kind, codec, rest = ''] of stderr.matchAll(
    /^\s*Stream #0:(\d+)\S*: (Video|Audio): ([^\s,]+)(.*)$/gm,
  )) {
    if (kind === 'Video' && !video && !rest.includes('(attached pic)')) {
      const size = /, (\d+)x(\d+)(?=[\s,]|$)/.exec(rest);
      video = {
        index: Number(index),
        codec: codec ?? '',
        width: Number(size?.[1] ?? 0),
        height: Number(size?.[2] ?? 0),
      };
    }
    if (kind === 'Audio' && !audio) audio = { index: Number(index), codec: codec ?? '' };
  }
  return { format, durationSeconds, video, audio };
}

/**
 * Formats ffmpeg reads as one picture or as text art, with a "video" stream
 * that is not a video: still images (`image2`, `png_pipe`, `jpeg_pipe`, …)
 * and text (`tty`, `bin`, `xbin`, `adf`, `idf`).
 */
export function isStillOrTextFormat(format: string): boolean {
  return format.split(',').some((name) => /^(image2|.+_pipe|tty|bin|xbin|adf|idf)$/.test(name));
}

/** `ffmpeg -i file` with no output: ffmpeg describes the input and exits. */
export const probeArgs = (input: string) => ['-i', input];

/**
 * H.264 (`-preset veryfast -crf 23`, yuv420p so browsers play it) and AAC
 * 128k in an MP4 whose index is at the front (`+faststart`), scaled down to
 * fit 1280x720 keeping the display aspect ratio, never up, to even
 * dimensions. The audio track is optional.
 */
export function transcodeArgs(input: string, output: string, videoStreamIndex: number): string[] {
  const fit = 'min(1,min(1280/(iw*sar),720/ih))';
  const scale = `scale=w='max(2,trunc(iw*sar*${fit}/2)*2)':h='max(2,trunc(ih*${fit}/2)*2)',setsar=1`;
  return [
    ...['-loglevel', 'error', '-y', '-i', input],
    ...['-map', `0:${videoStreamIndex}`, '-map', '0:a:0?', '-sn', '-dn'],
    ...['-vf', scale, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '128k'],
    ...['-movflags', '+faststart', '-f', 'mp4', output],
  ];
}

/** One frame at `atSeconds` as a JPEG at most 640 wide. */
export function posterArgs(input: string, output: string, atSeconds: number): string[] {
  return [
    ...['-loglevel', 'error', '-y', '-ss', atSeconds.toFixed(3), '-i', input],
    ...['-frames:v', '1', '-an', '-vf', "scale=w='min(640,iw)':h=-2", '-q:v', '3'],
    ...['-f', 'image2', '-update', '1', output],
  ];
}

/**
 * The ffmpeg binary of `@ffmpeg-installer/ffmpeg`'s platform package. Loaded
 * on demand: that package throws on platforms it has no binary for, and
 * importing it at the top would stop processes that never transcode.
 */
export function installedFfmpegPath(): string {
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    return installer.path;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`transcode found no ffmpeg in @ffmpeg-installer/ffmpeg (${reason}); pass ffmpegPath`, {
      cause: error,
    });
  }
}
