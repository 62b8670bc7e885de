import { randomUUID } from 'node:crypto';
import type { MessageStore, Queryable } from '@vt/message-store';
import { sessionStreamName, SessionEnded, SessionRefreshed, SessionStarted } from '../../contracts/authentication.js';
import { findAccountStanding } from '../../aggregators/user-credentials/index.js';
import type { SessionKeeper, SessionUser } from '../../web/server.js';
import { deviceOf } from './devices.js';

export interface SessionSettings {
  /** A session nobody used for this long is over (`SESSION_IDLE_MINUTES`). */
  idleMs: number;
  /** A session is over this long after log-in, however busy (`SESSION_MAX_HOURS`). */
  absoluteMs: number;
}

export const defaultSessionSettings: SessionSettings = { idleMs: 2 * 3_600_000, absoluteMs: 7 * 24 * 3_600_000 };

/**
 * Revocable sessions. A session is its own stream, `session-{sessionId}`, written only here:
 * `SessionStarted` at log-in, `SessionRefreshed` now and then while it is used, `SessionEnded` at log-out.
 * Each request reads the stream's first and last messages — the message store, not View Data, so a
 * log-out counts from the very next request — and the account's standing in `user_credentials`: a lock or a
 * password change (identity's events) ends every session started before it.
 */
export function createSessions({
  store,
  viewData,
  settings = defaultSessionSettings,
  clock = () => new Date(),
}: {
  store: MessageStore;
  viewData: Queryable;
  settings?: SessionSettings;
  /** Replaceable in tests, to let time pass. */
  clock?: () => Date;
}): SessionKeeper {
  // Activity is recorded at most this often: a busy session does not write on every request.
  const refreshAfterMs = Math.min(settings.idleMs / 4, 5 * 60_000);

  return {
    async start(user: SessionUser, traceId: string, userAgent?: string) {
      const sessionId = randomUUID();
      await store.write(
        sessionStreamName(sessionId),
        SessionStarted.create(
          { sessionId, userId: user.userId, email: user.email, device: deviceOf(userAgent) },
          { metadata: { traceId, userId: user.userId } },
        ),
        -1,
      );
      return sessionId;
    },

    async find(sessionId: string, traceId: string) {
      const streamName = sessionStreamName(sessionId);
      const [[first], last] = await Promise.all([store.read(streamName, 0, 1), store.readLastMessage(streamName)]);
      if (!first || !last || !SessionStarted.is(first) || SessionEnded.is(last)) return null;
      const started = SessionStarted.parse(first);
      const now = clock().getTime();
      const activeAt = SessionRefreshed.is(last)
        ? Date.parse(SessionRefreshed.parse(last).data.activeAt)
        : last.time.getTime();
      if (now - started.time.getTime() >= settings.absoluteMs || now - activeAt >= settings.idleMs) return null;
      const { userId, email } = started.data;
      const standing = await findAccountStanding(viewData, userId);
      if (!standing || standing.lockedNow(clock())) return null;
      if (standing.sessionsEndedAt && standing.sessionsEndedAt.getTime() >= started.time.getTime()) return null;
      if (now - activeAt >= refreshAfterMs)
        await store.write(
          streamName,
          SessionRefreshed.create(
            { sessionId, userId, activeAt: new Date(now).toISOString() },
            { metadata: { traceId, userId } },
          ),
        );
      return { userId, email, emailConfirmed: standing.emailConfirmed };
    },

    async end(sessionId: string, traceId: string) {
      await endSession(store, sessionId, traceId);
    },
  };
}

/**
 * Ends the session `sessionId` — only when it is `ownedBy` that user, if given (a session id typed into a form
 * is anyone's guess): whether it was ended now. A session already ended stays as it is.
 */
export async function endSession(
  store: MessageStore,
  sessionId: string,
  traceId: string,
  { ownedBy, reason = 'logged out' }: { ownedBy?: string; reason?: string } = {},
): Promise<boolean> {
  const streamName = sessionStreamName(sessionId);
  const [[first], last] = await Promise.all([store.read(streamName, 0, 1), store.readLastMessage(streamName)]);
  if (!first || !SessionStarted.is(first)) return false;
  const { userId } = SessionStarted.parse(first).data;
  if (ownedBy !== undefined && ownedBy !== userId) return false;
  if (last && SessionEnded.is(last)) return false;
  await store.write(streamName, SessionEnded.create({ sessionId, userId, reason }, { metadata: { traceId, userId } }));
  return true;
}
