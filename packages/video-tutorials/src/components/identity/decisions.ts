import { z } from 'zod';
import { follow, nothing, type Decision, type Message, type Nothing, type Write } from 'message-db-toolkit';
import {
  AccountUnlocked,
  EmailReserved,
  identityEmailStreamName,
  identityStreamName,
  Registered,
  RegistrationEmailSent,
  RegistrationRejected,
  type Register,
  type UnlockAccount,
} from '../../contracts/identity.js';
import type { BookSent, Sent } from '../../contracts/send-email.js';
import { tokenHashOf } from './confirmation.js';
import { alreadyAnswered, type Identity } from './identity.js';
import { registrationEmailId, reservationIdFor } from './ids.js';
import type { EmailReservation } from './reservation.js';

/**
 * What a handler is to do: write one message to one stream, or nothing (and why, for logs and tests).
 * Decisions are pure: they see the projected entity and the message handled, nothing else.
 */
export { nothing, type Decision, type Nothing, type Write };

export const write = (streamName: string, message: Message): Write => ({ kind: 'write', streamName, message });

/**
 * `Register` → `EmailReserved` in the address's own stream while nobody holds it; then, decided again with the
 * reservation, `Registered` — or `RegistrationRejected` when the address is held by another user or the
 * command breaks one of identity's own rules.
 */
export function decideRegistration(identity: Identity, command: Register, reservation: EmailReservation): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (identity.registered) return nothing('already registered');
  if (identity.deleted) return nothing('account deleted');
  const streamName = identityStreamName(command.data.userId);
  const reason = registrationProblem(command.data);
  if (reason) return write(streamName, follow(command, RegistrationRejected.create({ ...command.data, reason })));
  const { userId, email } = command.data;
  if (reservation.userId === null)
    return write(
      identityEmailStreamName(email),
      follow(command, EmailReserved.create({ userId, email }, { id: reservationIdFor(command) })),
    );
  if (reservation.userId !== userId)
    return write(
      streamName,
      follow(command, RegistrationRejected.create({ ...command.data, reason: EMAIL_ALREADY_REGISTERED })),
    );
  return write(streamName, follow(command, Registered.create(command.data)));
}

export const EMAIL_ALREADY_REGISTERED = 'email already registered';

/**
 * A `Registered` written without a reservation (by the book's system, before addresses were reserved) gets one,
 * so a later registration of its address is rejected. Nothing when the address is held already.
 */
export function decideReservationOfRegistered(reservation: EmailReservation, event: Registered): Decision {
  if (reservation.userId !== null) return nothing('address already reserved');
  // Released by a deleted account: replaying the old registration must not take it from a new one.
  if (reservation.everHeld) return nothing('address was reserved before');
  const { userId, email } = event.data;
  return write(
    identityEmailStreamName(email),
    follow(event, EmailReserved.create({ userId, email }, { id: reservationIdFor(event) })),
  );
}

const emailAddress = z.email();

/** Identity's own rules for the address of a registration (whether it is taken is the reservation's business). */
export function registrationProblem({ email }: { email: string }): string | null {
  if (email.trim() === '') return 'email is blank';
  if (email.length > 254) return 'email is longer than 254 characters';
  if (!emailAddress.safeParse(email).success) return 'email is not a well-formed address';
  return null;
}

/** `UnlockAccount` → `AccountUnlocked` when the account is locked, by a lock older than the command. */
export function decideUnlock(identity: Identity, command: UnlockAccount): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (!identity.locked) return nothing('account is not locked');
  // On a replay, an unlock asked for before the current lock existed must not lift it.
  if (identity.lockedAt !== null && command.time.getTime() < identity.lockedAt)
    return nothing('command is older than the lock');
  // The owner's unlock carries the token of the link e-mailed at this lock.
  if (command.data.token !== undefined && tokenHashOf(command.data.token) !== identity.unlockTokenHash)
    return nothing('unlock link not valid');
  const { userId } = command.data;
  return write(identityStreamName(userId), follow(command, AccountUnlocked.create({ userId })));
}

/** `Sent` of the registration e-mail → `RegistrationEmailSent`, once. */
export function decideRegistrationEmailSent(identity: Identity, sent: Sent | BookSent): Decision {
  if (!identity.registered || identity.id === null || identity.email === null)
    return nothing('identity is not registered');
  const { emailId } = sent.data;
  if (emailId !== registrationEmailId(identity.email)) return nothing('not the registration e-mail');
  if (identity.registrationEmailSent) return nothing('registration e-mail already recorded as sent');
  const userId = identity.id;
  return write(identityStreamName(userId), follow(sent, RegistrationEmailSent.create({ userId, emailId })));
}
