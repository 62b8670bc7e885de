import { z } from 'zod';
import { defineMessage, streamName, type MessageOf } from '@vt/message-store';

/** Written by the record-viewings application (DESIGN.md §3). */
export const viewingCategory = 'viewing';
export const viewingStreamName = (videoId: string) => streamName(viewingCategory, videoId);

export const VideoViewed = defineMessage('VideoViewed', z.object({ userId: z.string().min(1), videoId: z.uuid() }));
export type VideoViewed = MessageOf<typeof VideoViewed>;
