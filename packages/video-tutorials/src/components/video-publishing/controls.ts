/**
 * Controls, in Eventide's sense: the canonical example messages and videos the video-publishing tests build from,
 * and the parts of transcode and transcribe played with their real messages in a real store.
 */
import { randomUUID } from 'node:crypto';
import { project, stored as storedMessage, written } from 'message-db-toolkit/controls';
import { follow, type Message, type MessageMetadata, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import {
  transcodeCommandStreamName,
  TranscodeFailed,
  Transcoded,
  transcodeStreamName,
} from '../../contracts/transcode.js';
import {
  transcribeCommandStreamName,
  TranscribeFailed,
  Transcribed,
  transcribeStreamName,
  type TimedWord,
} from '../../contracts/transcribe.js';
import {
  DeleteVideo,
  DescribeVideo,
  ListVideo,
  NameVideo,
  PublishVideo,
  RetryPublishing,
  UnlistVideo,
} from '../../contracts/video-publishing.js';
import { transcodeIdFor, transcribeIdFor } from './ids.js';

export function exampleVideo(overrides: { videoId?: string; ownerId?: string } = {}) {
  const videoId = overrides.videoId ?? randomUUID();
  return { videoId, ownerId: overrides.ownerId ?? randomUUID(), sourceUri: `storage:uploads/${videoId}.mp4` };
}

export type ExampleVideo = ReturnType<typeof exampleVideo>;

export const exampleMetadata = (overrides: MessageMetadata = {}): MessageMetadata => ({
  traceId: randomUUID(),
  ...overrides,
});

/** `PublishVideo` as the creators portal writes it after an upload: the owner is the acting user. */
export const examplePublishVideo = (video: ExampleVideo = exampleVideo()) =>
  PublishVideo.create(video, { metadata: exampleMetadata({ userId: video.ownerId }) });

export const exampleNameVideo = (video: ExampleVideo, name = 'Event sourcing in ten minutes') =>
  NameVideo.create({ videoId: video.videoId, name }, { metadata: exampleMetadata({ userId: video.ownerId }) });

export const exampleDescribeVideo = (video: ExampleVideo, description = 'What an event store is, and why.') =>
  DescribeVideo.create(
    { videoId: video.videoId, description },
    { metadata: exampleMetadata({ userId: video.ownerId }) },
  );

/** The owner's choices, as the creators portal writes them: `ListVideo`, `UnlistVideo`, `DeleteVideo`, `RetryPublishing`. */
export const ownersChoices = { ListVideo, UnlistVideo, DeleteVideo, RetryPublishing } as const;
export type OwnersChoice = keyof typeof ownersChoices;

export const exampleChoice = (choice: OwnersChoice, video: ExampleVideo) =>
  ownersChoices[choice].create({ videoId: video.videoId }, { metadata: exampleMetadata({ userId: video.ownerId }) });

export const exampleTranscription = 'Hello, and welcome to this video about event sourcing.';

/** `Transcoded` as transcode writes it in answer to `transcode`: following it, so the origin is copied on. */
export function exampleTranscoded(transcode: StoredMessage, overrides: { durationSeconds?: number } = {}) {
  const transcodeId = String(transcode.data.transcodeId);
  return follow(
    transcode,
    Transcoded.create({
      transcodeId,
      uri: String(transcode.data.uri),
      transcodedUri: `storage:transcoded/${transcodeId}.mp4`,
      posterUri: `storage:posters/${transcodeId}.jpg`,
      durationSeconds: overrides.durationSeconds ?? 61.5,
    }),
  );
}

export const exampleTranscodeFailed = (transcode: StoredMessage, reason = 'the upload is not a video (corrupt file)') =>
  follow(
    transcode,
    TranscodeFailed.create({
      transcodeId: String(transcode.data.transcodeId),
      uri: String(transcode.data.uri),
      reason,
    }),
  );

/** The first words of `exampleTranscription` with their times, as transcribe records them. */
export const exampleWords: TimedWord[] = [
  ['hello', 0.31, 0.72],
  ['and', 0.9, 1.05],
  ['welcome', 1.06, 1.5],
];

export const exampleTranscribed = (
  transcribe: StoredMessage,
  transcription = exampleTranscription,
  words?: TimedWord[],
) =>
  follow(
    transcribe,
    Transcribed.create({
      transcribeId: String(transcribe.data.transcribeId),
      uri: String(transcribe.data.uri),
      transcription,
      ...(words ? { words } : {}),
    }),
  );

export const exampleTranscribeFailed = (transcribe: StoredMessage, reason = 'no speech recognized') =>
  follow(
    transcribe,
    TranscribeFailed.create({
      transcribeId: String(transcribe.data.transcribeId),
      uri: String(transcribe.data.uri),
      reason,
    }),
  );

/** The `Transcode` video-publishing asked for `videoId`, as stored (throws when there is none). */
export async function transcodeAskedFor(store: MessageStore, videoId: string): Promise<StoredMessage> {
  const [transcode, ...more] = await store.read(transcodeCommandStreamName(transcodeIdFor(videoId)));
  if (!transcode || more.length > 0) throw new Error(`expected one Transcode for video ${videoId}`);
  return transcode;
}

/** The `Transcribe` video-publishing asked for `videoId`, as stored (throws when there is none). */
export async function transcribeAskedFor(store: MessageStore, videoId: string): Promise<StoredMessage> {
  const [transcribe, ...more] = await store.read(transcribeCommandStreamName(transcribeIdFor(videoId)));
  if (!transcribe || more.length > 0) throw new Error(`expected one Transcribe for video ${videoId}`);
  return transcribe;
}

/** Plays the transcode component: answers the `Transcode` asked for `videoId` in `transcode-{transcodeId}`. */
export async function playTranscode(store: MessageStore, videoId: string, outcome: 'transcoded' | 'failed') {
  const transcode = await transcodeAskedFor(store, videoId);
  const result = outcome === 'transcoded' ? exampleTranscoded(transcode) : exampleTranscodeFailed(transcode);
  return written(store, transcodeStreamName(String(transcode.data.transcodeId)), result);
}

/** Plays the transcribe component: answers the `Transcribe` asked for `videoId` in `transcribe-{transcribeId}`. */
export async function playTranscribe(store: MessageStore, videoId: string, outcome: 'transcribed' | 'failed') {
  const transcribe = await transcribeAskedFor(store, videoId);
  const result = outcome === 'transcribed' ? exampleTranscribed(transcribe) : exampleTranscribeFailed(transcribe);
  return written(store, transcribeStreamName(String(transcribe.data.transcribeId)), result);
}

/** A message as if read back from `streamName` (for pure tests of projections and decisions). */
export const stored = <M extends Message>(message: M, streamName: string, position: number, globalPosition?: number) =>
  storedMessage(message, streamName, position, globalPosition === undefined ? {} : { globalPosition });

export { project, written };
