import { describe, expect, it } from 'vitest';
import { ffmpegPath } from './controls.js';
import { isStillOrTextFormat, lastLines, parseMediaInfo, runFfmpeg } from './ffmpeg.js';

// What ffmpeg 4.1 (the binary of @ffmpeg-installer/ffmpeg) prints for `ffmpeg -i`.
const movWithAudio = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/data/storage/uploads/a.mov':
  Metadata:
    major_brand     : qt
  Duration: 00:01:03.52, start: 0.000000, bitrate: 2053 kb/s
    Stream #0:0(eng): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 1920x1080 [SAR 1:1 DAR 16:9], 1340 kb/s, 25 fps, 25 tbr, 12800 tbn, 25 tbc (default)
    Metadata:
      handler_name    : VideoHandler
    Stream #0:1(eng): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 84 kb/s (default)
At least one output file must be specified
`;

const mp3WithCover = `Input #0, mp3, from 'song.mp3':
  Duration: 00:03:15.16, start: 0.025056, bitrate: 64 kb/s
    Stream #0:0: Audio: mp3, 44100 Hz, mono, fltp, 64 kb/s
    Stream #0:1: Video: mjpeg (Baseline), yuvj444p(pc, bt470bg/unknown/unknown), 100x100 [SAR 1:1 DAR 1:1], 90k tbr, 90k tbn, 90k tbc (attached pic)
At least one output file must be specified
`;

const randomBytes = `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1c93db00] Format mov,mp4,m4a,3gp,3g2,mj2 detected only with low score of 1, misdetection possible!
[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1c93db00] moov atom not found
/data/storage/uploads/r.mov: Invalid data found when processing input
`;

describe('parseMediaInfo', () => {
  it('reads the format, the duration and the first video and audio streams', () => {
    expect(parseMediaInfo(movWithAudio)).toEqual({
      format: 'mov,mp4,m4a,3gp,3g2,mj2',
      durationSeconds: 63.52,
      video: { index: 0, codec: 'h264', width: 1920, height: 1080 },
      audio: { index: 1, codec: 'aac' },
    });
  });

  it('does not take cover art for a video stream', () => {
    expect(parseMediaInfo(mp3WithCover)).toMatchObject({ format: 'mp3', video: null, audio: { codec: 'mp3' } });
  });

  it('reads a stream with a transport-stream id, and a duration of N/A', () => {
    const info = parseMediaInfo(`Input #0, mpegts, from 'x.ts':
  Duration: N/A, start: 1.400000, bitrate: N/A
    Stream #0:0[0x100]: Video: mpeg2video (Main) ([2][0][0][0] / 0x0002), yuv420p(tv, progressive), 720x576 [SAR 16:15 DAR 4:3], 25 fps
`);
    expect(info).toEqual({
      format: 'mpegts',
      durationSeconds: null,
      video: { index: 0, codec: 'mpeg2video', width: 720, height: 576 },
      audio: null,
    });
  });

  it('finds nothing in a file ffmpeg cannot read', () => {
    expect(parseMediaInfo(randomBytes)).toEqual({ format: null, durationSeconds: null, video: null, audio: null });
  });
});

describe('lastLines', () => {
  it('keeps the last lines that say something, without the demuxer prefixes and the noise', () => {
    expect(lastLines(randomBytes)).toEqual([
      'moov atom not found',
      '/data/storage/uploads/r.mov: Invalid data found when processing input',
    ]);
  });

  it('takes the last progress line of carriage-return output', () => {
    expect(lastLines('frame=1\rframe=2\rError while decoding stream #0:0\nConversion failed!\n', 1)).toEqual([
      'Error while decoding stream #0:0',
    ]);
  });
});

describe('isStillOrTextFormat', () => {
  it('knows pictures and text art from videos', () => {
    expect(['image2', 'png_pipe', 'jpeg_pipe', 'tty', 'bin'].map(isStillOrTextFormat)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(['mov,mp4,m4a,3gp,3g2,mj2', 'matroska,webm', 'gif', 'avi'].map(isStillOrTextFormat)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('runFfmpeg', () => {
  it('kills ffmpeg when it runs past its time', async () => {
    const startedAt = Date.now();
    const run = await runFfmpeg(ffmpegPath, ['-re', '-f', 'lavfi', '-i', 'testsrc', '-f', 'null', '-'], {
      timeoutMs: 300,
    });
    expect(run).toMatchObject({ timedOut: true, exitCode: null });
    expect(Date.now() - startedAt).toBeLessThan(5_000);
  });

  it('resolves with the exit code and stderr when ffmpeg fails', async () => {
    const run = await runFfmpeg(ffmpegPath, ['-i', '/nowhere/video.mp4'], { timeoutMs: 10_000 });
    expect(run).toMatchObject({ timedOut: false, exitCode: 1 });
    expect(run.stderr).toContain('/nowhere/video.mp4: No such file or directory');
  });

  it('rejects when there is no ffmpeg to start', async () => {
    await expect(runFfmpeg('/nowhere/ffmpeg', ['-version'], { timeoutMs: 10_000 })).rejects.toThrow(
      /ffmpeg could not be started \(\/nowhere\/ffmpeg\): .*ENOENT/,
    );
  });
});
