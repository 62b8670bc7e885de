/**
 * What to tell a video's owner when publishing failed. `VideoPublishingFailed.reason` is technical (transcode's
 * reason, with ffmpeg's own words — see the transcode contract's "Failure reasons"): it stays in the message store
 * and the admin portal; the creators portal shows one of these sentences instead, never ffmpeg's text.
 */
export interface FailureExplanation {
  /** A sentence for the owner. */
  sentence: string;
  /** Whether trying again from the same upload may work (what is wrong may be ours, not the file's). */
  worthRetrying: boolean;
}

const FORMATS = 'Upload an MP4, WebM or MOV file.';

/** First match wins: the reason's pattern, and what to say. */
const EXPLANATIONS: readonly [RegExp, FailureExplanation][] = [
  [/: it is empty$/, { sentence: `The file you uploaded is empty. ${FORMATS}`, worthRetrying: false }],
  [
    /still image or text/,
    { sentence: `This file is a picture or a text, not a video. ${FORMATS}`, worthRetrying: false },
  ],
  [
    /has no video stream/,
    { sentence: 'This file has sound but no picture. Upload a file with video in it.', worthRetrying: false },
  ],
  [
    /not a video ffmpeg can read/,
    { sentence: `We could not read this file as a video. ${FORMATS}`, worthRetrying: false },
  ],
  [
    /No file at |Cannot read |is not a file/,
    {
      sentence: 'We no longer have the file you uploaded. Delete this video and upload the file again.',
      worthRetrying: false,
    },
  ],
  [
    /took longer than/,
    {
      sentence: 'Preparing this video took too long. Try again, or upload a shorter or smaller file.',
      worthRetrying: true,
    },
  ],
  [
    /No space left on device/i,
    { sentence: 'We ran out of room while preparing this video. Try again later.', worthRetrying: true },
  ],
];

const UNEXPLAINED: FailureExplanation = {
  sentence: `We could not prepare this video for the web. Try again, or upload it in another format: ${FORMATS}`,
  worthRetrying: true,
};

/** The explanation of a recorded failure reason (any text, the book's included). */
export function explainFailure(reason: string | null): FailureExplanation {
  for (const [pattern, explanation] of EXPLANATIONS) if (reason && pattern.test(reason)) return explanation;
  return UNEXPLAINED;
}
