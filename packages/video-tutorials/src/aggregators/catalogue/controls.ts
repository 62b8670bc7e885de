/**
 * Controls for the catalogue's tests: a video's publishing events, written to the message store as
 * video-publishing writes them and read back as stored, then applied by the catalogue aggregator.
 */
import { randomUUID } from 'node:crypto';
import type { Database, MessageStore, StoredMessage } from 'message-db-toolkit';
import type { TimedWord } from '../../contracts/transcribe.js';
import {
  PublishingStarted,
  VideoDescribed,
  VideoListed,
  VideoNamed,
  VideoPublished,
  videoPublishingStreamName,
  VideoTranscoded,
  VideoTranscribed,
} from '../../contracts/video-publishing.js';
import { applyCatalogueEvents } from './index.js';

export interface ExampleVideo {
  videoId?: string;
  ownerId?: string;
  name?: string;
  description?: string;
  transcription?: string;
  words?: TimedWord[];
  durationSeconds?: number;
  /** Transcoded (with a poster and a duration); true unless told. */
  transcoded?: boolean;
  /** `VideoPublished` written; true unless told. */
  published?: boolean;
  /** Listed by its owner once published and named (so public); true unless told. */
  listed?: boolean;
  /** Where its media is; storage URIs of its own unless told. */
  transcodedUri?: string;
  posterUri?: string;
}

/** The events of one video, written to its `videoPublishing-{id}` stream, as stored. */
export async function writeVideoEvents(store: MessageStore, video: ExampleVideo = {}) {
  const videoId = video.videoId ?? randomUUID();
  const ownerId = video.ownerId ?? randomUUID();
  const stream = videoPublishingStreamName(videoId);
  const sourceUri = `storage:uploads/${videoId}.mp4`;
  const transcodedUri = video.transcodedUri ?? `storage:transcoded/${videoId}.mp4`;
  const written = async (message: Parameters<MessageStore['write']>[1]): Promise<StoredMessage> => {
    const { position } = await store.write(stream, message);
    const [stored] = await store.read(stream, { from: position, max: 1 });
    return stored!;
  };
  const messages = [await written(PublishingStarted.create({ ownerId, sourceUri, videoId }))];
  if (video.transcoded ?? true)
    messages.push(
      await written(
        VideoTranscoded.create({
          videoId,
          transcodeId: randomUUID(),
          transcodedUri,
          posterUri: video.posterUri ?? `storage:posters/${videoId}.jpg`,
          durationSeconds: video.durationSeconds ?? 65,
        }),
      ),
    );
  if (video.transcription !== undefined || video.words)
    messages.push(
      await written(
        VideoTranscribed.create({
          videoId,
          transcribeId: randomUUID(),
          transcription: video.transcription ?? video.words!.map(([word]) => word).join(' '),
          ...(video.words ? { words: video.words } : {}),
        }),
      ),
    );
  if (video.published ?? true)
    messages.push(await written(VideoPublished.create({ ownerId, sourceUri, transcodedUri, videoId })));
  if (video.name) messages.push(await written(VideoNamed.create({ name: video.name })));
  if (video.description) messages.push(await written(VideoDescribed.create({ description: video.description })));
  if ((video.published ?? true) && video.name && (video.listed ?? true))
    messages.push(await written(VideoListed.create({ videoId })));
  return { videoId, ownerId, messages };
}

/** A video's events written and applied to the catalogue — twice, as every handler is in tests. */
export async function catalogueVideo(store: MessageStore, viewData: Database, video: ExampleVideo = {}) {
  const written = await writeVideoEvents(store, video);
  await viewData.transaction((tx) => applyCatalogueEvents(written.messages, tx));
  await viewData.transaction((tx) => applyCatalogueEvents(written.messages, tx));
  return written;
}
