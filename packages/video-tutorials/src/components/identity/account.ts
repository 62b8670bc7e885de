import { follow } from 'message-db-toolkit';
import { v5 as uuidV5 } from 'uuid';
import {
  AccountDeleted,
  EmailReleased,
  identityEmailStreamName,
  identityStreamName,
  LoggedOutEverywhere,
  type DeleteAccount,
  type LogOutEverywhere,
} from '../../contracts/identity.js';
import { nothing, write, type Decision } from './decisions.js';
import { alreadyAnswered, type Identity } from './identity.js';
import type { EmailReservation } from './reservation.js';

// Message ids derived from their cause: deciding twice (a retry, two instances) writes one event.
const LOGGED_OUT_EVERYWHERE_NAMESPACE = '6a2e9c41-8b7d-4f35-a1c0-3d5e7f9b2a86';
const ACCOUNT_DELETED_NAMESPACE = 'b4d81f63-2a9e-4c57-8e0b-7f1a3c5d9e24';
const EMAIL_RELEASED_NAMESPACE = '0e7c5a39-4f1b-4d82-b6a9-1c3e5f7a9d40';

/** `LogOutEverywhere` → `LoggedOutEverywhere`: every session of the account started before it is over. */
export function decideLogOutEverywhere(identity: Identity, command: LogOutEverywhere): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (!identity.registered) return nothing('identity is not registered');
  const { userId } = command.data;
  return write(
    identityStreamName(userId),
    follow(
      command,
      LoggedOutEverywhere.create({ userId }, { id: uuidV5(command.id, LOGGED_OUT_EVERYWHERE_NAMESPACE) }),
    ),
  );
}

/** `DeleteAccount` (the application verified the password) → `AccountDeleted`, once. */
export function decideAccountDeletion(identity: Identity, command: DeleteAccount): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (identity.deleted) return nothing('account already deleted');
  if (!identity.registered) return nothing('identity is not registered');
  const { userId } = command.data;
  return write(
    identityStreamName(userId),
    follow(command, AccountDeleted.create({ userId }, { id: uuidV5(command.id, ACCOUNT_DELETED_NAMESPACE) })),
  );
}

/**
 * `AccountDeleted` → `EmailReleased` in the address's reservation stream, while the deleted account holds it:
 * the address may be registered again, as a new account.
 */
export function decideEmailRelease(
  email: string | null,
  reservation: EmailReservation,
  deleted: AccountDeleted,
): Decision {
  if (email === null) return nothing('identity has no address');
  const { userId } = deleted.data;
  if (reservation.userId !== userId) return nothing('address not held by this account');
  return write(
    identityEmailStreamName(email),
    follow(deleted, EmailReleased.create({ userId }, { id: uuidV5(deleted.id, EMAIL_RELEASED_NAMESPACE) })),
  );
}
