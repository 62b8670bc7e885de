import type { Database, Logger, MessageStore, Queryable, StoredMessage } from '@vt/message-store';
import { AccountLocked, AccountUnlocked, identityCategory, Registered } from '../../contracts/identity.js';
import { pieceOf } from '../../piece.js';
import { aggregatorSubscription } from '../aggregator.js';

/**
 * Keeps `user_credentials` for log-in (the book's chapter 9) and each
 * account's lock status. Each row remembers the identity stream position it
 * has applied, so replays change nothing.
 */
export function build({ store, viewData, logger }: { store: MessageStore; viewData: Database; logger?: Logger }) {
  const subscription = aggregatorSubscription({
    store,
    viewData,
    logger,
    streamName: identityCategory,
    subscriberId: 'aggregators:user-credentials',
    apply: applyIdentityEvents,
  });
  return { ...pieceOf('user-credentials-aggregator', [subscription]), apply: applyIdentityEvents };
}

export async function applyIdentityEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (Registered.is(message)) {
      const { userId, email, passwordHash } = Registered.parse(message).data;
      // A second account for an address already taken is not given credentials.
      await tx.query(
        `INSERT INTO user_credentials (id, email, password_hash, identity_position)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [userId, email, passwordHash, message.position],
      );
    } else if (AccountLocked.is(message) || AccountUnlocked.is(message)) {
      const locked = AccountLocked.is(message);
      const { userId } = (locked ? AccountLocked : AccountUnlocked).parse(message).data;
      await tx.query(
        `UPDATE user_credentials SET locked = $2, identity_position = $3 WHERE id = $1 AND identity_position < $3`,
        [userId, locked, message.position],
      );
    }
  }
}

export interface UserCredentials {
  id: string;
  email: string;
  passwordHash: string;
  locked: boolean;
}

export async function findCredentialsByEmail(viewData: Queryable, email: string): Promise<UserCredentials | null> {
  const [row] = await viewData.query<{ id: string; email: string; password_hash: string; locked: boolean }>(
    `SELECT id, email, password_hash, locked FROM user_credentials WHERE lower(email) = lower($1)`,
    [email],
  );
  return row ? { id: row.id, email: row.email, passwordHash: row.password_hash, locked: row.locked } : null;
}
