/**
 * The file work of a transcode: from the uploaded video at a storage URI to
 * a web MP4 and a poster JPEG in storage, or the reason it cannot be done.
 * It knows nothing of messages.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'message-db-toolkit';
import type { Storage } from '../../storage.js';
import {
  isStillOrTextFormat,
  lastLines,
  parseMediaInfo,
  posterArgs,
  probeArgs,
  runFfmpeg,
  transcodeArgs,
  type MediaInfo,
} from './ffmpeg.js';

export type TranscodeResult =
  | { transcoded: true; transcodedUri: string; posterUri: string; durationSeconds: number }
  | { transcoded: false; reason: string };

export interface Transcoder {
  /** Resolves with the failure when the video cannot be transcoded; rejects only on trouble of the machine's own. */
  transcode(request: { transcodeId: string; uri: string }): Promise<TranscodeResult>;
}

export interface TranscoderOptions {
  storage: Storage;
  ffmpegPath: string;
  /** The most one transcode may take, all ffmpeg runs together. */
  timeoutMs: number;
  logger: Logger;
}

/** Clips shorter than this get their first frame as poster, longer ones a frame at 10 %. */
const SHORT_CLIP_SECONDS = 1;
const NOT_A_VIDEO = 'The file is not a video ffmpeg can read';

/** Why a transcode cannot succeed; thrown between the steps below and recorded, never left to escape. */
class TranscodeFailure extends Error {}

export function createTranscoder({ storage, ffmpegPath, timeoutMs, logger }: TranscoderOptions): Transcoder {
  return {
    async transcode({ transcodeId, uri }) {
      const startedAt = Date.now();
      const job = jobOf(transcodeId, uri);
      try {
        const source = await locateSource(job);
        const video = await probeSource(job, source);
        await prepareOutputs(job);
        await encodeVideo(job, source, video.index);
        const durationSeconds = await probeOutput(job);
        await capturePoster(job, durationSeconds);
        await publishOutputs(job);
        logger.info({ transcodeId, uri, durationSeconds, ms: Date.now() - startedAt }, 'video transcoded');
        return { transcoded: true, transcodedUri: job.video.uri, posterUri: job.poster.uri, durationSeconds };
      } catch (error) {
        if (!(error instanceof TranscodeFailure)) throw error;
        logger.warn({ transcodeId, uri, reason: error.message }, 'video not transcoded');
        return { transcoded: false, reason: error.message };
      } finally {
        await Promise.all([job.video.partial, job.poster.partial].map((file) => rm(file, { force: true })));
      }
    },
  };

  /**
   * Where everything goes. ffmpeg writes to hidden `.partial` files beside the
   * final ones (one pair per attempt, so two instances never write into the
   * same file); they are renamed only once complete.
   */
  function jobOf(transcodeId: string, uri: string) {
    const attempt = randomBytes(4).toString('hex');
    const output = (key: string) => {
      const final = storage.pathOf(storage.uriOf(key));
      const partial = path.join(path.dirname(final), `.${transcodeId}.${attempt}.partial`);
      return { uri: storage.uriOf(key), final, partial };
    };
    return {
      transcodeId,
      uri,
      deadline: Date.now() + timeoutMs,
      video: output(`transcoded/${transcodeId}.mp4`),
      poster: output(`posters/${transcodeId}.jpg`),
    };
  }
  type Job = ReturnType<typeof jobOf>;

  async function locateSource(job: Job): Promise<string> {
    let source: string;
    try {
      source = storage.pathOf(job.uri);
    } catch (error) {
      throw new TranscodeFailure(`Cannot read ${job.uri}: ${(error as Error).message}`);
    }
    const file = await stat(source).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') throw new TranscodeFailure(`No file at ${job.uri}`);
      throw error;
    });
    if (!file.isFile()) throw new TranscodeFailure(`${job.uri} is not a file`);
    if (file.size === 0) throw new TranscodeFailure(`${NOT_A_VIDEO}: it is empty`);
    return source;
  }

  /** The video stream to transcode. */
  async function probeSource(job: Job, source: string): Promise<NonNullable<MediaInfo['video']>> {
    const run = await ffmpeg(job, probeArgs(source), 'reading the upload');
    const info = parseMediaInfo(run.stderr);
    if (!info.format) throw new TranscodeFailure(`${NOT_A_VIDEO}: ${reasonIn(job, run.stderr, source)}`);
    if (isStillOrTextFormat(info.format))
      throw new TranscodeFailure(`${NOT_A_VIDEO}: it is a still image or text (${info.format}), not a video`);
    if (!info.video) throw new TranscodeFailure(`${NOT_A_VIDEO}: it has no video stream`);
    return info.video;
  }

  /** Storage that cannot be written to is the machine's trouble, not the video's: it throws. */
  async function prepareOutputs(job: Job) {
    for (const output of [job.video, job.poster]) {
      await mkdir(path.dirname(output.final), { recursive: true });
      await access(path.dirname(output.final), constants.W_OK);
      await removeStalePartials(path.dirname(output.final), job.transcodeId);
    }
  }

  /**
   * A crash (or SIGKILL) can leave `.partial` files behind. Those of this
   * transcode older than the timeout belong to no live attempt any more.
   */
  async function removeStalePartials(directory: string, transcodeId: string) {
    const names = (await readdir(directory)).filter(
      (name) => name.startsWith(`.${transcodeId}.`) && name.endsWith('.partial'),
    );
    for (const name of names) {
      const file = path.join(directory, name);
      const modified = await stat(file).then(
        ({ mtimeMs }) => mtimeMs,
        () => Date.now(),
      );
      if (Date.now() - modified > timeoutMs) await rm(file, { force: true });
    }
  }

  async function encodeVideo(job: Job, source: string, videoStreamIndex: number) {
    const run = await ffmpeg(job, transcodeArgs(source, job.video.partial, videoStreamIndex), 'transcoding');
    if (run.exitCode !== 0)
      throw new TranscodeFailure(`ffmpeg could not transcode ${job.uri}: ${reasonIn(job, run.stderr, source)}`);
  }

  /** The duration of the MP4 just written, as ffmpeg reads it back. */
  async function probeOutput(job: Job): Promise<number> {
    const run = await ffmpeg(job, probeArgs(job.video.partial), 'checking the transcoded video');
    const info = parseMediaInfo(run.stderr);
    if (!info.video) throw new TranscodeFailure(`ffmpeg wrote no readable video for ${job.uri}`);
    return info.durationSeconds ?? 0;
  }

  async function capturePoster(job: Job, durationSeconds: number) {
    const at = durationSeconds < SHORT_CLIP_SECONDS ? 0 : durationSeconds * 0.1;
    // Past the last frame ffmpeg writes nothing and still succeeds: then the first frame will do.
    for (const seconds of at > 0 ? [at, 0] : [0]) {
      const run = await ffmpeg(job, posterArgs(job.video.partial, job.poster.partial, seconds), 'capturing the poster');
      if (run.exitCode !== 0)
        throw new TranscodeFailure(`ffmpeg could not capture a poster of ${job.uri}: ${reasonIn(job, run.stderr)}`);
      if (await hasContent(job.poster.partial)) return;
    }
    throw new TranscodeFailure(`ffmpeg found no frame of ${job.uri} to make a poster of`);
  }

  /** Flushed to disk, then renamed: the final names only ever hold whole files, even after a power cut. */
  async function publishOutputs(job: Job) {
    for (const output of [job.video, job.poster]) {
      await syncFile(output.partial);
      await rename(output.partial, output.final);
      await syncDirectory(path.dirname(output.final));
    }
  }

  /** Runs ffmpeg within what is left of the job's time; running out of it is a failure of the transcode. */
  async function ffmpeg(job: Job, args: string[], doing: string) {
    const run = await runFfmpeg(ffmpegPath, args, { timeoutMs: job.deadline - Date.now() });
    if (run.timedOut)
      throw new TranscodeFailure(
        `Transcoding ${job.uri} took longer than ${formatSeconds(timeoutMs)}; ffmpeg was stopped while ${doing}`,
      );
    return run;
  }

  /** ffmpeg's last words, with the machine's paths replaced by the storage URIs they stand for. */
  function reasonIn(job: Job, stderr: string, source?: string): string {
    const lines = lastLines(stderr).join('; ') || 'ffmpeg gave no reason';
    const paths: [string, string][] = [
      [job.video.partial, job.video.uri],
      [job.poster.partial, job.poster.uri],
      ...(source ? [[source, job.uri] as [string, string]] : []),
    ];
    return paths.reduce((text, [file, uri]) => text.split(`${file}: `).join('').split(file).join(uri), lines);
  }
}

const hasContent = (file: string) =>
  stat(file).then(
    ({ size }) => size > 0,
    () => false,
  );

async function syncFile(file: string) {
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a rename durable on POSIX; Windows cannot open a directory to sync it, and needs not. */
async function syncDirectory(directory: string) {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}

const formatSeconds = (ms: number) => (ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${ms / 1000} s`);
