import type { Queryable, StoredMessage } from 'message-db-toolkit';
import {
  PublishingRetried,
  PublishingRetryRejected,
  VideoDeleted,
  VideoDeletionRejected,
  VideoDescribed,
  VideoDescriptionRejected,
  VideoListed,
  VideoListingRejected,
  VideoNamed,
  VideoNameRejected,
  videoPublishingCategory,
  VideoUnlisted,
  VideoUnlistingRejected,
} from '../../contracts/video-publishing.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { videoIdOf } from '../video-rows.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'video-operations-aggregator',
  subscriptions: { events: { streamName: videoPublishingCategory, subscriberId: 'aggregators:video-operations' } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `video_operations` (the book's chapter 11): the outcome of each naming
 * or describing request — and of each of the owner's choices (publish, unlist, delete, try again) — found by the
 * trace id of the request that asked.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyOperationOutcomes, deps);
}

/** The events that answer a request: accepted, or rejected with a `reason`. */
const ACCEPTED = [VideoNamed, VideoDescribed, VideoListed, VideoUnlisted, VideoDeleted, PublishingRetried];
const REJECTED = [
  VideoNameRejected,
  VideoDescriptionRejected,
  VideoListingRejected,
  VideoUnlistingRejected,
  VideoDeletionRejected,
  PublishingRetryRejected,
];

/** The outcome a message records, parsed: an invalid one of these types throws (and is parked), never succeeds. */
function outcomeOf(message: StoredMessage): { succeeded: boolean; failureReason: string | null } | null {
  const accepted = ACCEPTED.find((definition) => definition.is(message));
  if (accepted) {
    accepted.parse(message);
    return { succeeded: true, failureReason: null };
  }
  const rejected = REJECTED.find((definition) => definition.is(message));
  if (rejected) return { succeeded: false, failureReason: rejected.parse(message).data.reason };
  return null;
}

export async function applyOperationOutcomes(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    const outcome = outcomeOf(message);
    const { traceId, userId } = message.metadata;
    if (!outcome || typeof traceId !== 'string' || !traceId) continue;
    await tx.query(
      `INSERT INTO video_operations (trace_id, video_id, user_id, succeeded, failure_reason, completed_at, answer_type)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (trace_id) DO NOTHING`,
      [
        traceId,
        videoIdOf(message),
        typeof userId === 'string' ? userId : null,
        outcome.succeeded,
        outcome.failureReason,
        message.time.toISOString(),
        message.type,
      ],
    );
  }
}

export interface VideoOperation {
  traceId: string;
  videoId: string;
  succeeded: boolean;
  failureReason: string | null;
}

/** An outcome with the type of the event that answered (`VideoDeleted`…); null if recorded before it was kept. */
export interface AnsweredOperation extends VideoOperation {
  answerType: string | null;
}

/** The outcome of a request, if it has one yet; only for the user who asked. */
export async function findOperation(
  viewData: Queryable,
  traceId: string,
  userId: string,
): Promise<VideoOperation | null> {
  const found = await findAnsweredOperation(viewData, traceId, userId);
  return found
    ? { traceId: found.traceId, videoId: found.videoId, succeeded: found.succeeded, failureReason: found.failureReason }
    : null;
}

/** The same, with what answered it: the operation page tells a deletion (no video to go back to). */
export async function findAnsweredOperation(
  viewData: Queryable,
  traceId: string,
  userId: string,
): Promise<AnsweredOperation | null> {
  const [row] = await viewData.query<{
    trace_id: string;
    video_id: string;
    succeeded: boolean;
    failure_reason: string | null;
    answer_type: string | null;
  }>(
    `SELECT trace_id, video_id, succeeded, failure_reason, answer_type FROM video_operations
      WHERE trace_id = $1 AND user_id = $2`,
    [traceId, userId],
  );
  return row
    ? {
        traceId: row.trace_id,
        videoId: row.video_id,
        succeeded: row.succeeded,
        failureReason: row.failure_reason,
        answerType: row.answer_type,
      }
    : null;
}
