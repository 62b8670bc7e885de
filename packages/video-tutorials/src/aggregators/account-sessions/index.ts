import type { Queryable, StoredMessage } from 'message-db-toolkit';
import { SessionEnded, SessionRefreshed, SessionStarted, sessionCategory } from '../../contracts/authentication.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const ACCOUNT_SESSIONS_SUBSCRIBER_ID = 'aggregators:account-sessions';

export const descriptor = {
  name: 'account-sessions-aggregator',
  subscriptions: { events: { streamName: sessionCategory, subscriberId: ACCOUNT_SESSIONS_SUBSCRIBER_ID } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `account_sessions`, each user's sessions for the account page: when it started, when it was last
 * seen (`SessionRefreshed`, written at most every few minutes of use), the device (a summary), and when it was
 * logged out. Whether a session still holds is decided by the session stream on every request, not here: the
 * page reads this list with the account's `sessions_ended_at` and the expiry settings. Each row remembers the
 * session stream position it applied, so replays change nothing.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applySessionEvents, deps);
}

export async function applySessionEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (SessionStarted.is(message)) {
      const { sessionId, userId, device } = SessionStarted.parse(message).data;
      await tx.query(
        `INSERT INTO account_sessions (session_id, user_id, device, started_at, last_seen_at, session_position)
         VALUES ($1, $2, $3, $4::timestamptz, $4::timestamptz, $5) ON CONFLICT DO NOTHING`,
        [sessionId, userId, device ?? null, message.time.toISOString(), message.position],
      );
    } else if (SessionRefreshed.is(message)) {
      const { sessionId, activeAt } = SessionRefreshed.parse(message).data;
      await tx.query(
        `UPDATE account_sessions SET last_seen_at = greatest(last_seen_at, $2::timestamptz), session_position = $3
          WHERE session_id = $1 AND session_position < $3`,
        [sessionId, activeAt, message.position],
      );
    } else if (SessionEnded.is(message)) {
      const { sessionId } = SessionEnded.parse(message).data;
      await tx.query(
        `UPDATE account_sessions SET ended_at = $2::timestamptz, session_position = $3
          WHERE session_id = $1 AND session_position < $3`,
        [sessionId, message.time.toISOString(), message.position],
      );
    }
  }
}

export interface AccountSession {
  sessionId: string;
  device: string;
  startedAt: Date;
  lastSeenAt: Date;
}

/** The most sessions the account page lists (a user logging in from a script could have thousands). */
export const SESSIONS_LISTED = 20;

/**
 * The user's sessions that still hold as far as View Data knows: not logged out, started after the account's
 * `sessions_ended_at`, not expired by the idle and absolute limits at `now`. Latest seen first.
 */
export async function findOpenSessions(
  viewData: Queryable,
  userId: string,
  { idleMs, absoluteMs, now = new Date() }: { idleMs: number; absoluteMs: number; now?: Date },
): Promise<AccountSession[]> {
  const rows = await viewData.query<{
    session_id: string;
    device: string | null;
    started_at: Date | string;
    last_seen_at: Date | string;
  }>(
    `SELECT s.session_id, s.device, s.started_at, s.last_seen_at
       FROM account_sessions s LEFT JOIN user_credentials u ON u.id = s.user_id
      WHERE s.user_id = $1 AND s.ended_at IS NULL
        AND s.last_seen_at > $2::timestamptz AND s.started_at > $3::timestamptz
        AND (u.sessions_ended_at IS NULL OR s.started_at > u.sessions_ended_at)
      ORDER BY s.last_seen_at DESC, s.started_at DESC
      LIMIT $4`,
    [
      userId,
      new Date(now.getTime() - idleMs).toISOString(),
      new Date(now.getTime() - absoluteMs).toISOString(),
      SESSIONS_LISTED,
    ],
  );
  return rows.map((row) => ({
    sessionId: row.session_id,
    device: row.device ?? 'A browser',
    startedAt: new Date(row.started_at),
    lastSeenAt: new Date(row.last_seen_at),
  }));
}
