import { defineProjection, id as idOf, type StoredMessage } from 'message-db-toolkit';
import {
  AccountLocked,
  EmailConfirmationRequested,
  identityCommandStreamName,
  PasswordChanged,
  PasswordResetRequested,
  Registered,
} from '../../contracts/identity.js';

/** A confirmation link sent: the SHA-256 of its token, and until when it works (ms). */
export interface ConfirmationToken {
  tokenHash: string;
  expiresAt: number;
}

/** Links sent and not used are all valid until they expire; only the latest few are kept. */
export const CONFIRMATION_TOKENS_KEPT = 5;

/** What the identity component knows about one user, folded from `identity-{userId}`. */
export interface Identity {
  id: string | null;
  email: string | null;
  registered: boolean;
  /** The name given at registration, if any (the welcome e-mail greets it). */
  displayName: string | null;
  /** The account was deleted: it stays so (no command revives it; its address may serve a new account). */
  deleted: boolean;
  registrationEmailSent: boolean;
  /** A confirmation link was sent (with the registration e-mail or asked for again). */
  confirmationRequested: boolean;
  confirmationTokens: ConfirmationToken[];
  emailConfirmed: boolean;
  locked: boolean;
  /** When it was locked (ms, the `AccountLocked` message's time): an `UnlockAccount` written earlier does not unlock it. */
  lockedAt: number | null;
  /** When the current lock ends by itself (ms); `null`: when unlocked (a lock written by the book's system). */
  lockedUntil: number | null;
  /** The hash of the token of the unlock link sent at the current lock. */
  unlockTokenHash: string | null;
  /** When it was last unlocked (ms, the `AccountUnlocked` message's time): failed log-ins before it no longer count. */
  unlockedAt: number | null;
  /** The password reset link sent last and not used yet (a newer request replaces it; a change spends it). */
  passwordReset: ConfirmationToken | null;
  /** The hash of the reset token spent by the last `PasswordChanged`, to say "already used". */
  spentResetTokenHash: string | null;
  /**
   * The position in `identity:command-{id}` of the last command an event of this stream answered (-1: none).
   * A command at or before it has been decided on already, whatever the entity looks like now.
   */
  commandPosition: number;
}

export const initialIdentity = (): Identity => ({
  id: null,
  email: null,
  registered: false,
  displayName: null,
  deleted: false,
  registrationEmailSent: false,
  confirmationRequested: false,
  confirmationTokens: [],
  emailConfirmed: false,
  locked: false,
  lockedAt: null,
  lockedUntil: null,
  unlockTokenHash: null,
  unlockedAt: null,
  passwordReset: null,
  spentResetTokenHash: null,
  commandPosition: -1,
});

/** The identity projection: pure reducers, one per event type of the identity stream. */
export const identityProjection = defineProjection(initialIdentity)
  .on(Registered, (identity, event) => {
    const { userId, email, displayName } = event.data;
    return answered({ ...identity, id: userId, email, registered: true, displayName: displayName ?? null }, event);
  })
  .on('LoggedOutEverywhere', (identity, event) => answered(identity, event))
  // Every decision that needs a registered account now does nothing.
  .on('AccountDeleted', (identity, event) =>
    answered({ ...identity, registered: false, deleted: true, locked: false, passwordReset: null }, event),
  )
  .on('RegistrationRejected', (identity, event) => answered(identity, event))
  .on('RegistrationEmailSent', (identity) => ({ ...identity, registrationEmailSent: true }))
  .on(EmailConfirmationRequested, (identity, event) => {
    const { tokenHash, expiresAt } = event.data;
    const token = { tokenHash, expiresAt: Date.parse(expiresAt) };
    return answered(
      {
        ...identity,
        confirmationRequested: true,
        confirmationTokens: [...identity.confirmationTokens, token].slice(-CONFIRMATION_TOKENS_KEPT),
      },
      event,
    );
  })
  .on('EmailConfirmed', (identity, event) =>
    answered({ ...identity, emailConfirmed: true, confirmationTokens: [] }, event),
  )
  .on('EmailConfirmationRejected', (identity, event) => answered(identity, event))
  .on(AccountLocked, (identity, event) => {
    const { lockedUntil, unlockTokenHash } = event.data;
    return {
      ...identity,
      locked: true,
      lockedAt: event.time.getTime(),
      lockedUntil: lockedUntil ? Date.parse(lockedUntil) : null,
      unlockTokenHash: unlockTokenHash ?? null,
    };
  })
  .on('AccountUnlocked', (identity, event) =>
    answered({ ...identity, locked: false, unlockedAt: event.time.getTime() }, event),
  )
  .on(PasswordResetRequested, (identity, event) => {
    const { tokenHash, expiresAt } = event.data;
    return answered({ ...identity, passwordReset: { tokenHash, expiresAt: Date.parse(expiresAt) } }, event);
  })
  .on('PasswordResetRejected', (identity, event) => answered(identity, event))
  // Any change spends the reset link: a link e-mailed before it no longer works.
  .on(PasswordChanged, (identity, event) => {
    const { reason } = event.data;
    const spent = reason === 'reset' ? identity.passwordReset?.tokenHash : undefined;
    return answered(
      { ...identity, passwordReset: null, spentResetTokenHash: spent ?? identity.spentResetTokenHash },
      event,
    );
  })
  .build();

/** Records which command of this identity's command stream `event` answered (its causation, set by `follow`). */
function answered(identity: Identity, event: StoredMessage): Identity {
  const { causationMessageStreamName, causationMessagePosition } = event.metadata;
  const userId = idOf(event.streamName);
  if (userId === null || causationMessageStreamName !== identityCommandStreamName(userId)) return identity;
  if (typeof causationMessagePosition !== 'number') return identity;
  return { ...identity, commandPosition: Math.max(identity.commandPosition, causationMessagePosition) };
}

/** True when an event of the identity stream already answers `command` (a replay or a retry of it). */
export function alreadyAnswered(identity: Identity, command: StoredMessage): boolean {
  return command.position <= identity.commandPosition;
}
