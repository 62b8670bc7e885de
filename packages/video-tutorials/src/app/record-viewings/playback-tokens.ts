import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * A playback token: issued by the page that plays a video (the watch page, or the home page for the
 * sample video), it lets one viewing of that video be recorded. It is signed, so it cannot be made
 * up; it names its video, so it counts for no other; and its id becomes the id of the `VideoViewed`
 * message, so using it twice records one viewing (Message DB ignores a message id written again).
 */
export interface PlaybackTokens {
  issue(videoId: string): string;
  /** The token's id, when it is genuine, for this video and recent enough; otherwise null. */
  verify(token: unknown, videoId: string): string | null;
}

const payload = z.object({ id: z.uuid(), videoId: z.uuid(), issuedAt: z.number().int() });
const LIFETIME_MS = 24 * 3600 * 1000;

export function createPlaybackTokens(secret: string, { now = () => Date.now() } = {}): PlaybackTokens {
  // Its own key, derived from the cookie secret: a playback token is no cookie signature, nor the reverse.
  const key = createHmac('sha256', secret).update('playback-tokens').digest();
  const sign = (body: string) => createHmac('sha256', key).update(body).digest('base64url');

  return {
    issue(videoId) {
      const body = Buffer.from(JSON.stringify({ id: randomUUID(), videoId, issuedAt: now() })).toString('base64url');
      return `${body}.${sign(body)}`;
    },
    verify(token, videoId) {
      if (typeof token !== 'string' || token.length > 512) return null;
      const [body = '', signature = '', extra] = token.split('.');
      if (extra !== undefined) return null;
      const expected = Buffer.from(sign(body));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      let parsed;
      try {
        parsed = payload.safeParse(JSON.parse(Buffer.from(body, 'base64url').toString('utf8')));
      } catch {
        return null;
      }
      if (!parsed.success || parsed.data.videoId !== videoId) return null;
      const age = now() - parsed.data.issuedAt;
      return age >= 0 && age <= LIFETIME_MS ? parsed.data.id : null;
    },
  };
}
