import { randomUUID } from 'node:crypto';
import type { StoredMessage } from 'message-db-toolkit';
import { describe, expect, it } from 'vitest';
import {
  AccountDeleted,
  ChangePassword,
  DeleteAccount,
  EmailReleased,
  EmailReserved,
  identityCommandStreamName,
  identityEmailStreamName,
  identityStreamName,
  LogOutEverywhere,
  Register,
  RequestEmailConfirmation,
  RequestPasswordReset,
  UnlockAccount,
  type AccountDeleted as AccountDeletedMessage,
} from '../../contracts/identity.js';
import { decideAccountDeletion, decideEmailRelease, decideLogOutEverywhere } from './account.js';
import { decideConfirmationRequest } from './confirmation.js';
import {
  exampleAccountLocked,
  exampleRegister,
  exampleRegistered,
  exampleUser,
  examplePasswordHash,
  project,
  stored,
} from './controls.js';
import { decideRegistration, decideReservationOfRegistered, decideUnlock, type Decision } from './decisions.js';
import { identityProjection, type Identity } from './identity.js';
import { decidePasswordChange, decidePasswordResetRequest } from './password-reset.js';
import { emailReservationProjection } from './reservation.js';

// Given/when/then over pure functions: the account page's commands, deletion and the address's release.

const user = exampleUser();
const identityStream = identityStreamName(user.userId);
const commandStream = identityCommandStreamName(user.userId);
const given = (events: StoredMessage[]): Identity => project(identityProjection, events);
const registered = stored(exampleRegistered(user), identityStream, 0);
const reservationStream = identityEmailStreamName(user.email);
const policy = { appUrl: 'https://videos.example.com', linkTtlMs: 3_600_000 };

function writes(decision: Decision) {
  if (decision.kind !== 'write') throw new Error(`expected a write, got nothing: ${decision.reason}`);
  return decision;
}
const deleteAt = (position: number) =>
  DeleteAccount.parse(
    stored(DeleteAccount.create({ userId: user.userId, currentPasswordVerified: true }), commandStream, position),
  );
/** The identity after `AccountDeleted` (answering a `DeleteAccount` at command position 3). */
function deletedIdentity(): { identity: Identity; deleted: AccountDeletedMessage } {
  const decision = writes(decideAccountDeletion(given([registered]), deleteAt(3)));
  const deleted = AccountDeleted.parse(stored(decision.message, identityStream, 1));
  return { identity: given([registered, deleted]), deleted };
}

describe('LogOutEverywhere', () => {
  const command = (position: number) =>
    LogOutEverywhere.parse(stored(LogOutEverywhere.create({ userId: user.userId }), commandStream, position));

  it('given a registered identity, writes LoggedOutEverywhere following the command, with an id of its own', () => {
    const logOut = command(2);
    const decision = writes(decideLogOutEverywhere(given([registered]), logOut));
    expect(decision.streamName).toBe(identityStream);
    expect(decision.message).toMatchObject({
      type: 'LoggedOutEverywhere',
      data: { userId: user.userId },
      metadata: { causationMessageStreamName: commandStream, causationMessagePosition: 2 },
    });
    // Decided twice (two instances): the same message id, so the store keeps one.
    expect(writes(decideLogOutEverywhere(given([registered]), logOut)).message.id).toBe(decision.message.id);
  });

  it('given its answer already in the stream, does nothing; nor for an unregistered or deleted identity', () => {
    const answer = stored(writes(decideLogOutEverywhere(given([registered]), command(2))).message, identityStream, 1);
    expect(decideLogOutEverywhere(given([registered, answer]), command(2))).toEqual({
      kind: 'nothing',
      reason: 'command already handled',
    });
    // A later command logs out everywhere again.
    expect(decideLogOutEverywhere(given([registered, answer]), command(5)).kind).toBe('write');
    expect(decideLogOutEverywhere(given([]), command(0)).kind).toBe('nothing');
    expect(decideLogOutEverywhere(deletedIdentity().identity, command(9)).kind).toBe('nothing');
  });
});

describe('DeleteAccount', () => {
  it('given a registered identity, writes AccountDeleted once', () => {
    const decision = writes(decideAccountDeletion(given([registered]), deleteAt(3)));
    expect(decision).toMatchObject({
      streamName: identityStream,
      message: { type: 'AccountDeleted', data: { userId: user.userId } },
    });
    const { identity } = deletedIdentity();
    expect(identity).toMatchObject({ deleted: true, registered: false, commandPosition: 3 });
    expect(decideAccountDeletion(identity, deleteAt(3))).toEqual({
      kind: 'nothing',
      reason: 'command already handled',
    });
    expect(decideAccountDeletion(identity, deleteAt(7))).toEqual({
      kind: 'nothing',
      reason: 'account already deleted',
    });
    expect(decideAccountDeletion(given([]), deleteAt(0))).toEqual({
      kind: 'nothing',
      reason: 'identity is not registered',
    });
  });

  it('is malformed without the application’s word that the password was verified', () => {
    const forged = stored(
      {
        ...DeleteAccount.create({ userId: user.userId, currentPasswordVerified: true }),
        data: { userId: user.userId },
      },
      commandStream,
      0,
    );
    expect(DeleteAccount.safeParse(forged).success).toBe(false);
  });

  it('given a deleted account, no other command does anything: it stays deleted', () => {
    const { identity } = deletedIdentity();
    const at = (message: Parameters<typeof stored>[0], position: number) => stored(message, commandStream, position);
    const { userId } = user;
    expect(
      decideRegistration(
        identity,
        Register.parse(at(exampleRegister(user), 10)),
        project(emailReservationProjection, []),
      ),
    ).toEqual({ kind: 'nothing', reason: 'account deleted' });
    expect(
      decideConfirmationRequest(
        identity,
        RequestEmailConfirmation.parse(at(RequestEmailConfirmation.create({ userId }), 11)),
        'token',
        { appUrl: policy.appUrl, linkTtlMs: 1 },
      ).kind,
    ).toBe('nothing');
    expect(
      decidePasswordResetRequest(
        identity,
        RequestPasswordReset.parse(at(RequestPasswordReset.create({ userId }), 12)),
        'token',
        policy,
      ).kind,
    ).toBe('nothing');
    const change = ChangePassword.create({ userId, currentPasswordVerified: true, passwordHash: examplePasswordHash });
    expect(decidePasswordChange(identity, ChangePassword.parse(at(change, 13))).kind).toBe('nothing');
    // A lock before the deletion is lifted with it: nothing is left to unlock.
    const locked = stored(exampleAccountLocked(user), identityStream, 1);
    const deletion = writes(decideAccountDeletion(given([registered, locked]), deleteAt(3))).message;
    const lockedThenDeleted = given([registered, locked, stored(deletion, identityStream, 2)]);
    expect(lockedThenDeleted.locked).toBe(false);
    const unlock = UnlockAccount.parse(at(UnlockAccount.create({ userId }), 14));
    expect(decideUnlock(lockedThenDeleted, unlock).kind).toBe('nothing');
  });
});

describe('the address of a deleted account', () => {
  const reserved = stored(EmailReserved.create({ userId: user.userId, email: user.email }), reservationStream, 0);

  it('given the deleted account holds it, AccountDeleted releases it (one id however often decided)', () => {
    const { identity, deleted } = deletedIdentity();
    const reservation = project(emailReservationProjection, [reserved]);
    const decision = writes(decideEmailRelease(identity.email, reservation, deleted));
    expect(decision.streamName).toBe(reservationStream);
    expect(decision.message).toMatchObject({ type: 'EmailReleased', data: { userId: user.userId } });
    expect(writes(decideEmailRelease(identity.email, reservation, deleted)).message.id).toBe(decision.message.id);

    const released = project(emailReservationProjection, [reserved, stored(decision.message, reservationStream, 1)]);
    expect(released).toEqual({ userId: null, everHeld: true });
    expect(decideEmailRelease(identity.email, released, deleted)).toEqual({
      kind: 'nothing',
      reason: 'address not held by this account',
    });
  });

  it('once released, a new account registers it, and the old registration replayed does not take it back', () => {
    const { identity, deleted } = deletedIdentity();
    const release = writes(
      decideEmailRelease(identity.email, project(emailReservationProjection, [reserved]), deleted),
    );
    const history = [reserved, stored(release.message, reservationStream, 1)];

    // Another person (a new user id) registers the address, in another letter case.
    const newcomer = exampleUser({ email: user.email.toUpperCase() });
    const register = Register.parse(stored(exampleRegister(newcomer), identityCommandStreamName(newcomer.userId), 0));
    const reservation = writes(decideRegistration(given([]), register, project(emailReservationProjection, history)));
    expect(reservation).toMatchObject({
      streamName: reservationStream,
      message: { type: 'EmailReserved', data: { userId: newcomer.userId } },
    });
    const heldAgain = project(emailReservationProjection, [
      ...history,
      stored(reservation.message, reservationStream, 2),
    ]);
    expect(heldAgain).toEqual({ userId: newcomer.userId, everHeld: true });
    expect(writes(decideRegistration(given([]), register, heldAgain)).message.type).toBe('Registered');

    // Identity replaying the old account's own events: its Registered and AccountDeleted take nothing.
    expect(decideReservationOfRegistered(heldAgain, registered as never).kind).toBe('nothing');
    expect(decideReservationOfRegistered(project(emailReservationProjection, history), registered as never)).toEqual({
      kind: 'nothing',
      reason: 'address was reserved before',
    });
    expect(decideEmailRelease(identity.email, heldAgain, deleted).kind).toBe('nothing');
  });

  it('an EmailReleased by someone who does not hold the address changes nothing', () => {
    const forged = stored(EmailReleased.create({ userId: randomUUID() }), reservationStream, 1);
    expect(project(emailReservationProjection, [reserved, forged])).toEqual({ userId: user.userId, everHeld: true });
  });
});
