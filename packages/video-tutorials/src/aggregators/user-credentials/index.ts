import type { Queryable, StoredMessage } from 'message-db-toolkit';
import {
  AccountDeleted,
  AccountLocked,
  AccountUnlocked,
  LoggedOutEverywhere,
  EmailConfirmed,
  identityCategory,
  PasswordChanged,
  Registered,
} from '../../contracts/identity.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'user-credentials-aggregator',
  subscriptions: { events: { streamName: identityCategory, subscriberId: 'aggregators:user-credentials' } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `user_credentials` for log-in (the book's chapter 9) and each
 * account's lock status, and `user_public_names`, the name public pages show for each user (a display name given
 * at registration, or none). Each row remembers the identity stream position it has applied, so replays change
 * nothing.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyIdentityEvents, deps);
}

export async function applyIdentityEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (Registered.is(message)) {
      const { userId, email, passwordHash, displayName } = Registered.parse(message).data;
      // A second account for an address already taken is not given credentials.
      await tx.query(
        `INSERT INTO user_credentials (id, email, password_hash, identity_position)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [userId, email, passwordHash, message.position],
      );
      // The first Registered names the user; a later one (or this one again) changes nothing, nor revives a
      // deleted account's name.
      await tx.query(
        `INSERT INTO user_public_names (user_id, display_name, identity_position) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO NOTHING`,
        [userId, displayName ?? null, message.position],
      );
    } else if (EmailConfirmed.is(message)) {
      const { userId } = EmailConfirmed.parse(message).data;
      await tx.query(
        `UPDATE user_credentials SET email_confirmed = true, identity_position = $2 WHERE id = $1 AND identity_position < $2`,
        [userId, message.position],
      );
    } else if (AccountLocked.is(message) || AccountUnlocked.is(message)) {
      const locked = AccountLocked.is(message);
      const { userId } = (locked ? AccountLocked : AccountUnlocked).parse(message).data;
      const lockedUntil = locked ? (AccountLocked.parse(message).data.lockedUntil ?? null) : null;
      // A lock ends every session started before it.
      await tx.query(
        `UPDATE user_credentials SET locked = $2, identity_position = $3, locked_until = $5::timestamptz,
                sessions_ended_at = CASE WHEN $2 THEN $4::timestamptz ELSE sessions_ended_at END
          WHERE id = $1 AND identity_position < $3`,
        [userId, locked, message.position, message.time.toISOString(), lockedUntil],
      );
    } else if (PasswordChanged.is(message)) {
      const { userId, passwordHash } = PasswordChanged.parse(message).data;
      // The new hash for log-in, and every session started before the change is over.
      await tx.query(
        `UPDATE user_credentials SET password_hash = $2, identity_position = $3, sessions_ended_at = $4::timestamptz
          WHERE id = $1 AND identity_position < $3`,
        [userId, passwordHash, message.position, message.time.toISOString()],
      );
    } else if (LoggedOutEverywhere.is(message)) {
      const { userId } = LoggedOutEverywhere.parse(message).data;
      await tx.query(
        `UPDATE user_credentials SET identity_position = $2, sessions_ended_at = $3::timestamptz
          WHERE id = $1 AND identity_position < $2`,
        [userId, message.position, message.time.toISOString()],
      );
    } else if (AccountDeleted.is(message)) {
      const { userId } = AccountDeleted.parse(message).data;
      // The row stays, emptied: applying the account's Registered again finds it and adds nothing, while the
      // address is free for a new account (the unique index leaves deleted rows out).
      await tx.query(
        `UPDATE user_credentials SET email = '', password_hash = '', locked = false, locked_until = NULL,
                deleted_at = $3::timestamptz, sessions_ended_at = $3::timestamptz, identity_position = $2
          WHERE id = $1 AND identity_position < $2`,
        [userId, message.position, message.time.toISOString()],
      );
      // Its name goes from public pages too (its videos stay, shown by the handle).
      await tx.query(
        `INSERT INTO user_public_names AS n (user_id, display_name, deleted_at, identity_position)
         VALUES ($1, NULL, $3::timestamptz, $2)
         ON CONFLICT (user_id) DO UPDATE SET display_name = NULL, deleted_at = EXCLUDED.deleted_at,
                identity_position = EXCLUDED.identity_position
          WHERE n.identity_position < EXCLUDED.identity_position`,
        [userId, message.position, message.time.toISOString()],
      );
    }
  }
}

/**
 * For queries of videos (a table aliased `v` with `owner_id`): the owner's display name, `owner_display_name`,
 * null when they gave none or deleted their account. A join, so a list of videos costs no query per card.
 */
export const OWNER_NAME_JOIN = 'LEFT JOIN user_public_names owner_name ON owner_name.user_id = v.owner_id';
export const OWNER_NAME_COLUMN = 'owner_name.display_name AS owner_display_name';

export interface UserCredentials {
  id: string;
  email: string;
  passwordHash: string;
  /** Locked now: a lock whose time has not passed (or one without an end, written by the book's system). */
  locked: boolean;
  lockedUntil: Date | null;
}

export async function findCredentialsByEmail(viewData: Queryable, email: string): Promise<UserCredentials | null> {
  const [row] = await viewData.query<{
    id: string;
    email: string;
    password_hash: string;
    locked: boolean;
    locked_until: Date | string | null;
  }>(
    `SELECT id, email, password_hash, locked, locked_until FROM user_credentials WHERE lower(email) = lower($1) AND deleted_at IS NULL`,
    [email],
  );
  if (!row) return null;
  const lockedUntil = row.locked && row.locked_until !== null ? new Date(row.locked_until) : null;
  return {
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    locked: row.locked && (lockedUntil === null || lockedUntil > new Date()),
    lockedUntil,
  };
}

/** What decides whether the account's sessions still hold and whether it may be an admin. */
export interface AccountStanding {
  email: string;
  emailConfirmed: boolean;
  /** Sessions started at or before this time are over (a lock, a password change). */
  sessionsEndedAt: Date | null;
  lockedNow(now?: Date): boolean;
}

export async function findAccountStanding(viewData: Queryable, userId: string): Promise<AccountStanding | null> {
  const [row] = await viewData.query<{
    email: string;
    email_confirmed: boolean;
    locked: boolean;
    locked_until: Date | string | null;
    sessions_ended_at: Date | string | null;
  }>(
    `SELECT email, email_confirmed, locked, locked_until, sessions_ended_at FROM user_credentials
      WHERE id = $1 AND deleted_at IS NULL`,
    [userId],
  );
  if (!row) return null;
  const lockedUntil = row.locked_until === null ? null : new Date(row.locked_until);
  return {
    email: row.email,
    emailConfirmed: row.email_confirmed,
    sessionsEndedAt: row.sessions_ended_at === null ? null : new Date(row.sessions_ended_at),
    lockedNow: (now = new Date()) => row.locked && (lockedUntil === null || lockedUntil > now),
  };
}

/**
 * Since when the account's sessions are over (a lock, a password change, a log-out everywhere, a deletion),
 * deleted accounts included: what a page waits for before it tells the user they are signed out everywhere.
 */
export async function sessionsEndedAt(viewData: Queryable, userId: string): Promise<Date | null> {
  const [row] = await viewData.query<{ sessions_ended_at: Date | string | null }>(
    'SELECT sessions_ended_at FROM user_credentials WHERE id = $1',
    [userId],
  );
  return row?.sessions_ended_at == null ? null : new Date(row.sessions_ended_at);
}

/** True when the user confirmed their address (the admin role needs it). */
export async function isConfirmed(viewData: Queryable, userId: string): Promise<boolean> {
  return (await findAccountStanding(viewData, userId))?.emailConfirmed ?? false;
}
