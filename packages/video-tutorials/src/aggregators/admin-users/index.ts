import { ALL_STREAMS, type Queryable, type StoredMessage } from 'message-db-toolkit';
import { UserLoggedIn, UserLoginFailed } from '../../contracts/authentication.js';
import { AccountLocked, AccountUnlocked, Registered, RegistrationEmailSent } from '../../contracts/identity.js';
import { VideoViewedAsRead } from '../../contracts/viewing.js';
import { timeOf } from '../admin-common/index.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const ADMIN_USERS_SUBSCRIBER_ID = 'aggregators:admin-users';

export const descriptor = {
  name: 'admin-users-aggregator',
  subscriptions: { events: { streamName: ALL_STREAMS, subscriberId: ADMIN_USERS_SUBSCRIBER_ID } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `admin_users` (the book's chapter 13, with the account-locking exercise): each user's
 * e-mail, registration e-mail, lock, log-ins and viewings, from the identity, authentication and
 * viewing events in `$all`. A row applies only events after the last global position it applied.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyUserEvents, deps);
}

type UserEventKind = 'registered' | 'registration-email-sent' | 'locked' | 'unlocked' | 'logged-in' | 'login-failed';
interface UserEvent {
  userId: string;
  kind: UserEventKind | 'viewed';
  email: string | null;
  message: StoredMessage;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const EVENTS = [
  [Registered, 'registered'],
  [RegistrationEmailSent, 'registration-email-sent'],
  [AccountLocked, 'locked'],
  [AccountUnlocked, 'unlocked'],
  [UserLoggedIn, 'logged-in'],
  [UserLoginFailed, 'login-failed'],
] as const;

/**
 * What a message tells about a user, if anything. A malformed event is passed over: its own
 * consumers park it, and the admin portal still shows it among the messages.
 */
function userEventOf(message: StoredMessage): UserEvent | null {
  if (VideoViewedAsRead.is(message)) {
    const parsed = VideoViewedAsRead.safeParse(message);
    // Anonymous viewings (`anonymous`, or no userId as the book wrote them) are nobody's.
    const userId = parsed.success ? parsed.message.data.userId : undefined;
    if (userId === undefined || !UUID.test(userId)) return null;
    return { userId, kind: 'viewed', email: null, message };
  }
  for (const [definition, kind] of EVENTS) {
    if (!definition.is(message)) continue;
    const parsed = definition.safeParse(message);
    if (!parsed.success) return null;
    const data = parsed.message.data as { userId: string; email?: string };
    return { userId: data.userId, kind, email: data.email ?? null, message };
  }
  return null;
}

export async function applyUserEvents(messages: StoredMessage[], tx: Queryable) {
  const events = messages.map(userEventOf).filter((event): event is UserEvent => event !== null);
  if (events.length === 0) return;
  await tx.query(
    `WITH incoming AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[])
                  AS e(user_id, kind, email, global_position, time)
     ), unapplied AS (
       SELECT e.* FROM incoming e LEFT JOIN admin_users u ON u.id = e.user_id
        WHERE u.id IS NULL OR e.global_position > u.last_global_position
     ), changes AS (
       SELECT user_id,
              (array_agg(email ORDER BY global_position) FILTER (WHERE kind = 'registered'))[1] AS email,
              min(time) FILTER (WHERE kind = 'registered') AS registered_at,
              min(time) FILTER (WHERE kind = 'registration-email-sent') AS registration_email_sent_at,
              (array_agg(kind = 'locked' ORDER BY global_position DESC)
                 FILTER (WHERE kind IN ('locked', 'unlocked')))[1] AS locked,
              max(time) FILTER (WHERE kind = 'locked') AS locked_at,
              count(*) FILTER (WHERE kind = 'logged-in') AS login_count,
              count(*) FILTER (WHERE kind = 'login-failed') AS failed_login_count,
              max(time) FILTER (WHERE kind = 'logged-in') AS last_logged_in_at,
              count(*) FILTER (WHERE kind = 'viewed') AS view_count,
              max(time) FILTER (WHERE kind = 'viewed') AS last_viewed_at,
              max(global_position) AS last_global_position
         FROM unapplied GROUP BY user_id
     )
     INSERT INTO admin_users AS u
            (id, email, email_key, registered_at, registration_email_sent_at, locked, locked_at, login_count,
             failed_login_count, last_logged_in_at, view_count, last_viewed_at, last_global_position)
     SELECT user_id, email, COALESCE(lower(email), '~'), registered_at, registration_email_sent_at, locked,
            locked_at, login_count, failed_login_count, last_logged_in_at, view_count, last_viewed_at,
            last_global_position
       FROM changes
     ON CONFLICT (id) DO UPDATE
        SET email = COALESCE(u.email, EXCLUDED.email),
            email_key = CASE WHEN u.email IS NULL THEN EXCLUDED.email_key ELSE u.email_key END,
            registered_at = COALESCE(u.registered_at, EXCLUDED.registered_at),
            registration_email_sent_at = COALESCE(u.registration_email_sent_at, EXCLUDED.registration_email_sent_at),
            locked = COALESCE(EXCLUDED.locked, u.locked),
            locked_at = COALESCE(EXCLUDED.locked_at, u.locked_at),
            login_count = u.login_count + EXCLUDED.login_count,
            failed_login_count = u.failed_login_count + EXCLUDED.failed_login_count,
            last_logged_in_at = GREATEST(u.last_logged_in_at, EXCLUDED.last_logged_in_at),
            view_count = u.view_count + EXCLUDED.view_count,
            last_viewed_at = GREATEST(u.last_viewed_at, EXCLUDED.last_viewed_at),
            last_global_position = GREATEST(u.last_global_position, EXCLUDED.last_global_position)`,
    [
      events.map((event) => event.userId),
      events.map((event) => event.kind),
      events.map((event) => event.email),
      events.map((event) => event.message.globalPosition),
      events.map((event) => timeOf(event.message)),
    ],
  );
}

export interface AdminUser {
  id: string;
  email: string | null;
  registeredAt: Date | null;
  registrationEmailSentAt: Date | null;
  locked: boolean;
  lockedAt: Date | null;
  loginCount: number;
  failedLoginCount: number;
  lastLoggedInAt: Date | null;
  viewCount: number;
  lastViewedAt: Date | null;
}

type AdminUserRow = {
  id: string;
  email: string | null;
  email_key: string;
  registered_at: Date | string | null;
  registration_email_sent_at: Date | string | null;
  locked: boolean | null;
  locked_at: Date | string | null;
  login_count: string | number;
  failed_login_count: string | number;
  last_logged_in_at: Date | string | null;
  view_count: string | number;
  last_viewed_at: Date | string | null;
};

const date = (value: Date | string | null) => (value === null ? null : new Date(value));

const toAdminUser = (row: AdminUserRow): AdminUser => ({
  id: row.id,
  email: row.email,
  registeredAt: date(row.registered_at),
  registrationEmailSentAt: date(row.registration_email_sent_at),
  locked: row.locked === true,
  lockedAt: date(row.locked_at),
  loginCount: Number(row.login_count),
  failedLoginCount: Number(row.failed_login_count),
  lastLoggedInAt: date(row.last_logged_in_at),
  viewCount: Number(row.view_count),
  lastViewedAt: date(row.last_viewed_at),
});

const USER_COLUMNS = `id, email, email_key, registered_at, registration_email_sent_at, locked, locked_at, login_count,
  failed_login_count, last_logged_in_at, view_count, last_viewed_at`;

/** Where a page of users in e-mail order ends, to start the next one after it. */
export interface UserCursor {
  emailKey: string;
  id: string;
}

/**
 * Users in e-mail order (those whose registration was not seen last), a page at a time; `search`
 * keeps only e-mails that start with it.
 */
export async function listUsers(
  viewData: Queryable,
  { after, search, limit }: { after?: UserCursor; search?: string; limit: number },
): Promise<{ users: AdminUser[]; next: UserCursor | null }> {
  const params: unknown[] = [];
  const conditions: string[] = [];
  if (search) {
    const prefix = search.toLowerCase().replace(/[\\%_]/g, (char) => `\\${char}`);
    conditions.push(`email_key LIKE $${params.push(`${prefix}%`)}`);
  }
  if (after) conditions.push(`(email_key, id) > ($${params.push(after.emailKey)}, $${params.push(after.id)}::uuid)`);
  const rows = await viewData.query<AdminUserRow>(
    `SELECT ${USER_COLUMNS} FROM admin_users ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
      ORDER BY email_key, id LIMIT $${params.push(limit + 1)}`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    users: page.map(toAdminUser),
    next: rows.length > limit && last ? { emailKey: last.email_key, id: last.id } : null,
  };
}

export async function findAdminUser(viewData: Queryable, userId: string): Promise<AdminUser | null> {
  const [row] = await viewData.query<AdminUserRow>(`SELECT ${USER_COLUMNS} FROM admin_users WHERE id = $1`, [userId]);
  return row ? toAdminUser(row) : null;
}
