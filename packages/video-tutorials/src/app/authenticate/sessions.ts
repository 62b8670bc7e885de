import { randomUUID } from 'node:crypto';
import type { MessageStore, Queryable } from 'message-db-toolkit';
import { sessionStreamName, SessionEnded, SessionRefreshed, SessionStarted } from '../../contracts/authentication.js';
import { findAccountStanding, type AccountStanding } from '../../aggregators/user-credentials/index.js';
import { shortLivedCache, type ViewDataChanges } from '../../view-data/short-lived-cache.js';
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
 * A request reads the stream's first and last messages — the message store, not View Data, so a
 * log-out counts from the very next request — and the account's standing in `user_credentials`: a lock or a
 * password change (identity's events) ends every session started before it. With `cache`, those reads are
 * kept a short while (see there).
 */
export function createSessions({
  store,
  viewData,
  settings = defaultSessionSettings,
  clock = () => new Date(),
  cache,
}: {
  store: MessageStore;
  viewData: Queryable;
  settings?: SessionSettings;
  /** Replaceable in tests, to let time pass. */
  clock?: () => Date;
  /**
   * Keeps what a session's reads found for `ttlMs`, so a busy session is not read on every request. A
   * log-out here counts from the next request (its session is forgotten); a change this process's
   * aggregators commit (a lock, a password change) makes every kept session stale. Another process's
   * log-out, or a lock applied by an aggregator in another process, counts within `ttlMs`.
   */
  cache?: { ttlMs: number; changes?: ViewDataChanges };
}): SessionKeeper {
  // Activity is recorded at most this often: a busy session does not write on every request.
  const refreshAfterMs = Math.min(settings.idleMs / 4, 5 * 60_000);
  const kept = cache
    ? shortLivedCache<OpenSession | null>({ ...cache, maxEntries: 10_000, now: () => clock().getTime() })
    : null;

  /** The session as the store and the account's standing tell it now; null when it is over. */
  const readSession = async (sessionId: string): Promise<OpenSession | null> => {
    const streamName = sessionStreamName(sessionId);
    const [[first], last] = await Promise.all([
      store.read(streamName, { from: 0, max: 1 }),
      store.readLastMessage(streamName),
    ]);
    if (!first || !last || !SessionStarted.is(first) || SessionEnded.is(last)) return null;
    const started = SessionStarted.parse(first);
    const activeAt = SessionRefreshed.is(last)
      ? Date.parse(SessionRefreshed.parse(last).data.activeAt)
      : last.time.getTime();
    const { userId, email } = started.data;
    const standing = await findAccountStanding(viewData, userId);
    if (!standing) return null;
    if (standing.sessionsEndedAt && standing.sessionsEndedAt.getTime() >= started.time.getTime()) return null;
    return { userId, email, startedAt: started.time.getTime(), activeAt, standing };
  };

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
      const session = await (kept ? kept.get(sessionId, () => readSession(sessionId)) : readSession(sessionId));
      if (!session) return null;
      const now = clock().getTime();
      if (now - session.startedAt >= settings.absoluteMs || now - session.activeAt >= settings.idleMs) return null;
      if (session.standing.lockedNow(clock())) return null;
      const { userId, email } = session;
      if (now - session.activeAt >= refreshAfterMs) {
        await store.write(
          sessionStreamName(sessionId),
          SessionRefreshed.create(
            { sessionId, userId, activeAt: new Date(now).toISOString() },
            { metadata: { traceId, userId } },
          ),
        );
        session.activeAt = Math.max(session.activeAt, now);
      }
      return { userId, email, emailConfirmed: session.standing.emailConfirmed };
    },

    async end(sessionId: string, traceId: string) {
      await endSession(store, sessionId, traceId);
      // After the write: a read begun before it (and kept) is dropped, one begun after it finds the session ended.
      kept?.forget(sessionId);
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
  const [[first], last] = await Promise.all([
    store.read(streamName, { from: 0, max: 1 }),
    store.readLastMessage(streamName),
  ]);
  if (!first || !SessionStarted.is(first)) return false;
  const { userId } = SessionStarted.parse(first).data;
  if (ownedBy !== undefined && ownedBy !== userId) return false;
  if (last && SessionEnded.is(last)) return false;
  await store.write(streamName, SessionEnded.create({ sessionId, userId, reason }, { metadata: { traceId, userId } }));
  return true;
}

/** What a session's reads found: who, since when, last active when, and the account's standing. */
interface OpenSession {
  userId: string;
  email: string;
  startedAt: number;
  activeAt: number;
  standing: AccountStanding;
}
