import { v5 as uuidV5 } from 'uuid';
import type { StoredMessage } from 'message-db-toolkit';

/**
 * The namespace of `transcodeId`s: `transcodeId = uuidv5(videoId, TRANSCODE_ID_NAMESPACE)`. One transcode per
 * video, named the same every time it is asked for. Never change it: the id names the `transcode:command-{id}`
 * and `transcode-{id}` streams, and results are recognized as this video's by it.
 */
export const TRANSCODE_ID_NAMESPACE = '87fc2bcb-f389-408b-a92e-6c297c781c55';

/** The namespace of `transcribeId`s: `transcribeId = uuidv5(videoId, TRANSCRIBE_ID_NAMESPACE)`. Never change it. */
export const TRANSCRIBE_ID_NAMESPACE = '5be1b0cb-2a1a-4d5e-bf0d-34a5d07a0f00';

/**
 * The namespace of the ids of every message video-publishing writes:
 * `id = uuidv5('{cause id}/{type written}', MESSAGE_ID_NAMESPACE)`. Handling the same message again (a replay, a
 * retry, a second instance) writes a message with the same id, which the store recognizes and does not write
 * twice — even when its expected version has gone stale. Never change it.
 */
export const MESSAGE_ID_NAMESPACE = 'a80f800f-c135-41f2-bc30-e9f41a3a89a5';

/**
 * The transcode that makes `videoId` watchable, at `attempt` (0: the upload's own; 1, 2…: each retry of a failed
 * one, since a failed transcode stays failed). The first keeps the name it always had.
 */
export const transcodeIdFor = (videoId: string, attempt = 0): string =>
  uuidV5(attempt === 0 ? videoId : `${videoId}/attempt-${attempt}`, TRANSCODE_ID_NAMESPACE);

/** The transcription of `videoId`. */
export const transcribeIdFor = (videoId: string): string => uuidV5(videoId, TRANSCRIBE_ID_NAMESPACE);

/** The id of the message of `type` written in response to `cause`. */
export const messageIdFor = (cause: StoredMessage, type: string): string =>
  uuidV5(`${cause.id}/${type}`, MESSAGE_ID_NAMESPACE);
