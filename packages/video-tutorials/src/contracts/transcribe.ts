import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from '@vt/message-store';

/** The transcribe component's messages. Requesters set `originStreamName` in metadata. */
export const transcribeCategory = 'transcribe';
export const transcribeStreamName = (transcribeId: string) => streamName(transcribeCategory, transcribeId);
export const transcribeCommandStreamName = (transcribeId: string) =>
  commandStreamName(transcribeCategory, transcribeId);

export const Transcribe = defineMessage('Transcribe', z.object({ transcribeId: z.uuid(), uri: z.string().min(1) }));
export const Transcribed = defineMessage(
  'Transcribed',
  z.object({ transcribeId: z.uuid(), uri: z.string().min(1), transcription: z.string() }),
);
export const TranscribeFailed = defineMessage(
  'TranscribeFailed',
  z.object({ transcribeId: z.uuid(), uri: z.string().min(1), reason: z.string().min(1) }),
);

export type Transcribe = MessageOf<typeof Transcribe>;
export type Transcribed = MessageOf<typeof Transcribed>;
export type TranscribeFailed = MessageOf<typeof TranscribeFailed>;
