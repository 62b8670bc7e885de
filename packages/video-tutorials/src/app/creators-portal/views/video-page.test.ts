import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CreatorVideo } from '../../../aggregators/creators-videos/index.js';
import { liveStateOf } from '../live.js';
import { videoPage, videoPageParts } from './video-page.js';

/**
 * The video page's view, given plain props: what its owner typed comes back escaped, and the part of choices the
 * page shows carries its CSRF token while its hash is the one the live routes send (computed without the token).
 */
const HOSTILE = '"><script>alert(1)</script>';

const failedVideo = (): CreatorVideo => ({
  id: randomUUID(),
  ownerId: randomUUID(),
  status: 'failed',
  isPublic: false,
  failureReason: 'ffmpeg: moov atom not found',
  name: HOSTILE,
  description: HOSTILE,
  sourceUri: 'storage:uploads/x.mp4',
  transcodedUri: null,
  posterUri: null,
  transcription: HOSTILE,
  transcriptionFailure: null,
  durationSeconds: null,
  viewCount: 0,
  uploadedAt: new Date('2026-12-02T18:04:05Z'),
  ownerDisplayName: null,
});

describe('the video page, as a view', () => {
  it('escapes the name, description and text kept in a form sent back rejected', () => {
    const page = videoPage({
      video: failedVideo(),
      canRetry: true,
      csrfToken: 'token-1',
      sent: { action: 'describe', value: `${HOSTILE}</textarea>`, state: { kind: 'rejected', message: HOSTILE } },
    }).value;
    expect(page).not.toContain('<script>');
    expect(page).toContain('&lt;/textarea&gt;</textarea>');
    expect(page).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('carries its CSRF token in the choices, hashed as the live routes send them, without it', () => {
    const video = failedVideo();
    const page = videoPage({ video, canRetry: true, csrfToken: 'token-1', sent: undefined }).value;
    const live = liveStateOf(videoPageParts(video, true), video.status).parts.choices!;
    expect(live.html).toContain('name="_csrf" value=""');
    expect(page).toContain('name="_csrf" value="token-1"');
    expect(page).toContain(`data-live-part="choices" data-live-hash="${live.hash}"`);
  });
});
