import { describe, expect, it } from 'vitest';
import { sniffVideoContainer } from './video-files.js';

describe('sniffVideoContainer', () => {
  it('recognizes video containers by their first bytes only', () => {
    const mp4 = Buffer.concat([Buffer.from([0, 0, 0, 0x20]), Buffer.from('ftypisom\0\0\0\0')]);
    expect(sniffVideoContainer(mp4)).toBe('mp4');
    expect(sniffVideoContainer(Buffer.concat([Buffer.from([0, 0, 0, 0x14]), Buffer.from('ftypqt  ')]))).toBe('mov');
    expect(sniffVideoContainer(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 1, 2]))).toBe('mkv');
    expect(sniffVideoContainer(Buffer.from('RIFF\0\0\0\0AVI LIST'))).toBe('avi');
    expect(sniffVideoContainer(Buffer.from('%PDF-1.7 this is not a video'))).toBeNull();
    expect(sniffVideoContainer(Buffer.from('<html><script>'))).toBeNull();
    expect(sniffVideoContainer(Buffer.alloc(0))).toBeNull();
  });
});
