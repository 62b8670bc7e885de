import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from 'message-db-toolkit';

/** The transcribe component's messages. Requesters set `originStreamName` in metadata. */
export const transcribeCategory = 'transcribe';
export const transcribeStreamName = (transcribeId: string) => streamName(transcribeCategory, transcribeId);
export const transcribeCommandStreamName = (transcribeId: string) =>
  commandStreamName(transcribeCategory, transcribeId);

/**
 * At most this many timed words are recorded with a transcription: the first ones, in order (about 33 minutes
 * of speech at 150 words a minute, some 120 kB of JSON). The transcription's text keeps every word.
 */
export const TRANSCRIPTION_MAX_WORDS = 5_000;
/** A timed word's text is at most this many characters (UTF-16 code units); PocketSphinx's longest is 28. */
export const TRANSCRIPTION_WORD_MAX_LENGTH = 100;

/**
 * One word heard and when: `[word, startSeconds, endSeconds]`, seconds from the start of the video (a tuple, not
 * an object, to keep the event small).
 */
export const TimedWord = z.tuple([
  z.string().min(1).max(TRANSCRIPTION_WORD_MAX_LENGTH),
  z.number().nonnegative(),
  z.number().nonnegative(),
]);
export type TimedWord = z.infer<typeof TimedWord>;
/** The words of a transcription with their times, in order; optional (events written before it have none). */
export const TimedWords = z.array(TimedWord).max(TRANSCRIPTION_MAX_WORDS);

export const Transcribe = defineMessage('Transcribe', z.object({ transcribeId: z.uuid(), uri: z.string().min(1) }));
export const Transcribed = defineMessage(
  'Transcribed',
  z.object({
    transcribeId: z.uuid(),
    uri: z.string().min(1),
    transcription: z.string(),
    words: TimedWords.optional(),
  }),
);
export const TranscribeFailed = defineMessage(
  'TranscribeFailed',
  z.object({ transcribeId: z.uuid(), uri: z.string().min(1), reason: z.string().min(1) }),
);

export type Transcribe = MessageOf<typeof Transcribe>;
export type Transcribed = MessageOf<typeof Transcribed>;
export type TranscribeFailed = MessageOf<typeof TranscribeFailed>;
