import { describe, expect, it } from 'vitest';
import { externalMedia, mediaOf } from './media.js';

describe('a video’s media, as a page shows it', () => {
  it('is ours to play when in storage', () => {
    expect(mediaOf('storage:transcoded/abc.mp4')).toEqual({ kind: 'stored' });
  });

  it('is a link when at an http(s) URL, the URL as parsed', () => {
    expect(mediaOf('https://www.youtube.com/watch?v=GI_P3UtZXAA')).toEqual({
      kind: 'external',
      href: 'https://www.youtube.com/watch?v=GI_P3UtZXAA',
      host: 'www.youtube.com',
    });
    expect(mediaOf('http://media.example.com/a b"<x>.mp4')).toMatchObject({
      href: 'http://media.example.com/a%20b%22%3Cx%3E.mp4',
    });
  });

  it('is nothing for any other scheme, credentials, or what is not a URL', () => {
    for (const uri of [
      'javascript:alert(1)',
      ' JavaScript:alert(1)',
      'data:video/mp4;base64,AAAA',
      'vbscript:x',
      'file:///etc/passwd',
      'https://user:secret@example.com/v.mp4',
      '//example.com/v.mp4',
      'neither is this',
      '',
      null,
    ])
      expect(mediaOf(uri), String(uri)).toEqual({ kind: 'unplayable' });
  });

  it('is linked escaped, opening without our page as opener or referrer', () => {
    const link = externalMedia(mediaOf('https://example.com/v?a=1&b="2"')).toString();
    expect(link).toContain('href="https://example.com/v?a=1&amp;b=%222%22"');
    expect(link).toContain('rel="noopener noreferrer nofollow"');
    expect(externalMedia(mediaOf('javascript:alert(1)')).toString()).not.toContain('javascript');
  });
});
