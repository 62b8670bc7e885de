import { z } from 'zod';
import { defineMessage, streamName, type MessageOf } from 'message-db-toolkit';

/** Written by the record-viewings application (see docs/architecture.md, "Messages"). */
export const viewingCategory = 'viewing';
export const viewingStreamName = (videoId: string) => streamName(viewingCategory, videoId);

/**
 * A viewing as this system writes it: a UUID video (published, or the sample video) and its viewer, the
 * signed-in user's id or `anonymous`. Writers build it with `VideoViewed.create`, so nothing else is written.
 */
export const VideoViewed = defineMessage('VideoViewed', z.object({ userId: z.string().min(1), videoId: z.uuid() }));
export type VideoViewed = MessageOf<typeof VideoViewed>;

/**
 * A viewing as readers accept it: also as the book's system wrote it — any video id its URL had (its home
 * page's sample video is `12345`), and no `userId` at all when nobody was signed in. Only readers parse with it.
 */
export const VideoViewedAsRead = defineMessage(
  'VideoViewed',
  z.object({ userId: z.string().min(1).optional(), videoId: z.string().min(1) }),
);
export type VideoViewedAsRead = MessageOf<typeof VideoViewedAsRead>;
