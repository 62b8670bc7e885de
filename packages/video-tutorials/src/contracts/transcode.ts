import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from 'message-db-toolkit';

/** The transcode component's messages. Requesters set `originStreamName` in metadata. */
export const transcodeCategory = 'transcode';
export const transcodeStreamName = (transcodeId: string) => streamName(transcodeCategory, transcodeId);
export const transcodeCommandStreamName = (transcodeId: string) => commandStreamName(transcodeCategory, transcodeId);

export const Transcode = defineMessage('Transcode', z.object({ transcodeId: z.uuid(), uri: z.string().min(1) }));
export const Transcoded = defineMessage(
  'Transcoded',
  z.object({
    transcodeId: z.uuid(),
    uri: z.string().min(1),
    transcodedUri: z.string().min(1),
    posterUri: z.string().min(1),
    durationSeconds: z.number().nonnegative(),
  }),
);
export const TranscodeFailed = defineMessage(
  'TranscodeFailed',
  z.object({ transcodeId: z.uuid(), uri: z.string().min(1), reason: z.string().min(1) }),
);

export type Transcode = MessageOf<typeof Transcode>;
export type Transcoded = MessageOf<typeof Transcoded>;
export type TranscodeFailed = MessageOf<typeof TranscodeFailed>;
