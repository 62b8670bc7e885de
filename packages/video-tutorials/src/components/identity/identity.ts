import type { Projection, StoredMessage } from '@vt/message-store';
import { id as idOf } from '@vt/message-store';
import { AccountLocked, identityCommandStreamName, Registered } from '../../contracts/identity.js';

/** What the identity component knows about one user, folded from `identity-{userId}`. */
export interface Identity {
  id: string | null;
  email: string | null;
  registered: boolean;
  registrationEmailSent: boolean;
  locked: boolean;
  /** When it was locked (ms, the `AccountLocked` message's time): an `UnlockAccount` written earlier does not unlock it. */
  lockedAt: number | null;
  /** When it was last unlocked (ms, the `AccountUnlocked` message's time): failed log-ins before it no longer count. */
  unlockedAt: number | null;
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
  registrationEmailSent: false,
  locked: false,
  lockedAt: null,
  unlockedAt: null,
  commandPosition: -1,
});

/** The identity projection: pure reducers, one per event type of the identity stream. */
export const identityProjection: Projection<Identity> = {
  $init: initialIdentity,
  Registered: (identity, event) => {
    const { userId, email } = Registered.parse(event).data;
    return answered({ ...identity, id: userId, email, registered: true }, event);
  },
  RegistrationRejected: (identity, event) => answered(identity, event),
  RegistrationEmailSent: (identity) => ({ ...identity, registrationEmailSent: true }),
  AccountLocked: (identity, event) => {
    AccountLocked.parse(event);
    return { ...identity, locked: true, lockedAt: event.time.getTime() };
  },
  AccountUnlocked: (identity, event) =>
    answered({ ...identity, locked: false, unlockedAt: event.time.getTime() }, event),
};

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
