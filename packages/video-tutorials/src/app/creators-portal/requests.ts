import type { Queryable } from 'message-db-toolkit';
import { z } from 'zod';
import { findVideoOfOwner, type CreatorVideo } from '../../aggregators/creators-videos/index.js';
import type { ZodRoutes } from '../../web/input.js';
import type { SessionUser } from '../../web/server.js';

/** The portal's plugin, its routes validated by their zod schemas and typed by them. */
export type PortalApp = ZodRoutes;

/**
 * A video's address: its id, or null for anything else — answered 404, as anyone else's video is. Never a failed
 * validation: that would answer 400 before the portal's guard sends an anonymous visitor to log in.
 */
export const videoParams = z.object({ videoId: z.uuid().nullable().catch(null) });

/** The signed-in user's video the request is about (`:videoId`); null when it is not theirs, or not one. */
export async function ownedVideo(
  viewData: Queryable,
  request: { params: z.output<typeof videoParams>; user: SessionUser | null },
): Promise<CreatorVideo | null> {
  const { videoId } = request.params;
  if (videoId === null || !request.user) return null;
  return findVideoOfOwner(viewData, request.user.userId, videoId);
}
