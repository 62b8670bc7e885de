import { randomUUID } from 'node:crypto';
import type { StoredMessage } from 'message-db-toolkit';
import { decisionSpec } from 'message-db-toolkit/controls';
import { describe, expect, it } from 'vitest';
import {
  AccountUnlocked,
  ConfirmEmail,
  EmailConfirmationRequested,
  identityCommandStreamName,
  identityEmailStreamName,
  identityStreamName,
  Register,
  Registered,
  UnlockAccount,
  type Register as RegisterMessage,
} from '../../contracts/identity.js';
import { sendEmailCommandStreamName, Sent } from '../../contracts/send-email.js';
import {
  exampleAccountLocked,
  exampleRegister,
  exampleRegistered,
  exampleRegistrationEmailSent,
  exampleSent,
  exampleUnlockAccount,
  exampleUser,
  project,
  stored,
} from './controls.js';
import {
  decideRegistration,
  decideRegistrationEmailSent,
  decideReservationOfRegistered,
  decideUnlock,
  registrationProblem,
  type Decision,
} from './decisions.js';
import { identityProjection, type Identity } from './identity.js';
import { REGISTRATION_EMAIL_NAMESPACE, registrationEmailId, sendCommandIdFor } from './ids.js';
import { createEmailTemplates } from './templates.js';
import { confirmationEmail, decideConfirmation, decideConfirmationRequest, tokenHashOf } from './confirmation.js';

// Given/when/then over pure functions: the identity stream's events → the projected identity → a decision.

const user = exampleUser();
const identityStream = identityStreamName(user.userId);
const commandStream = identityCommandStreamName(user.userId);
const given = (events: StoredMessage[]): Identity => project(identityProjection, events);
/** The address reserved for this user (the reservation step done). */
const heldByUser = { userId: user.userId, everHeld: true };
const free = { userId: null, everHeld: false };

function registerAt(position: number, email = user.email): RegisterMessage {
  return Register.parse(stored(exampleRegister({ ...user, email }), commandStream, position));
}

function writes(decision: Decision) {
  if (decision.kind !== 'write') throw new Error(`expected a write, got nothing: ${decision.reason}`);
  return decision;
}

describe('the identity projection', () => {
  it('starts unregistered and follows registration, e-mail, locks and unlocks', () => {
    expect(given([])).toMatchObject({ registered: false, locked: false, commandPosition: -1 });
    const lockedAt = new Date('2026-01-01T12:00:00Z');
    const unlockedAt = new Date('2026-01-01T13:00:00Z');
    const history = [
      stored(exampleRegistered(user), identityStream, 0),
      stored(exampleRegistrationEmailSent(user), identityStream, 1),
      stored(exampleAccountLocked(user), identityStream, 2, lockedAt),
    ];
    expect(given(history)).toEqual({
      id: user.userId,
      email: user.email,
      registered: true,
      displayName: null,
      deleted: false,
      registrationEmailSent: true,
      confirmationRequested: false,
      confirmationTokens: [],
      emailConfirmed: false,
      locked: true,
      lockedAt: lockedAt.getTime(),
      lockedUntil: null,
      unlockTokenHash: null,
      unlockedAt: null,
      passwordReset: null,
      spentResetTokenHash: null,
      commandPosition: -1,
    });
    const unlocked = stored(AccountUnlocked.create({ userId: user.userId }), identityStream, 3, unlockedAt);
    expect(given([...history, unlocked])).toMatchObject({ locked: false, unlockedAt: unlockedAt.getTime() });
  });

  it('remembers the last command of its own command stream an event answered', () => {
    const command = registerAt(4);
    const rejected = writes(decideRegistration(given([]), registerAt(4, 'not an address'), heldByUser));
    expect(given([stored(rejected.message, identityStream, 0)]).commandPosition).toBe(command.position);
    // Caused by something else (another stream): no command recorded.
    const unrelated = { ...rejected.message, metadata: { causationMessageStreamName: 'elsewhere-1' } };
    expect(given([stored(unrelated, identityStream, 0)]).commandPosition).toBe(-1);
  });
});

describe('Register', () => {
  it('given nothing, registers with the command data and follows the command', () => {
    const command = registerAt(0);
    const decision = writes(decideRegistration(given([]), command, heldByUser));
    expect(decision.streamName).toBe(identityStream);
    expect(decision.message).toMatchObject({
      type: 'Registered',
      data: command.data,
      metadata: {
        traceId: command.metadata.traceId,
        userId: user.userId,
        causationMessageStreamName: commandStream,
        causationMessagePosition: 0,
        causationMessageGlobalPosition: command.globalPosition,
      },
    });
  });

  it('given Registered, does nothing', () => {
    const registering = decisionSpec(identityProjection, (identity: Identity, command: RegisterMessage) =>
      decideRegistration(identity, command, heldByUser),
    );
    const registered = registering.given().when(registerAt(0)).then(identityStream, 'Registered').message;
    registering
      .given(stored(registered, identityStream, 0))
      .when(registerAt(1))
      .thenNothing('already registered');
  });

  it('rejects an address that breaks identity rules, with the reason', () => {
    const decision = writes(decideRegistration(given([]), registerAt(0, 'someone at example.com'), heldByUser));
    expect(decision.message).toMatchObject({
      type: 'RegistrationRejected',
      data: { ...user, email: 'someone at example.com', reason: 'email is not a well-formed address' },
    });
  });

  it('given its own rejection, does not decide the same command again (a replay), but decides a later one', () => {
    const rejection = writes(decideRegistration(given([]), registerAt(0, 'nope'), heldByUser)).message;
    const identity = given([stored(rejection, identityStream, 0)]);
    expect(decideRegistration(identity, registerAt(0, 'nope'), heldByUser)).toEqual({
      kind: 'nothing',
      reason: 'command already handled',
    });
    expect(writes(decideRegistration(identity, registerAt(1), heldByUser)).message.type).toBe('Registered');
  });

  it('given an address nobody holds, reserves it in the stream named after it, once per command', () => {
    const command = registerAt(0);
    const decision = writes(decideRegistration(given([]), command, free));
    expect(decision.streamName).toBe(identityEmailStreamName(user.email));
    expect(decision.message).toMatchObject({ type: 'EmailReserved', data: { userId: user.userId, email: user.email } });
    expect(decision.message.id).toBe(writes(decideRegistration(given([]), command, free)).message.id);
    // The address's stream ignores case and surrounding blanks.
    expect(identityEmailStreamName(` ${user.email.toUpperCase()}`)).toBe(decision.streamName);
  });

  it('given the address held by another user, rejects: e-mail already registered', () => {
    const decision = writes(decideRegistration(given([]), registerAt(0), { userId: randomUUID(), everHeld: true }));
    expect(decision.streamName).toBe(identityStream);
    expect(decision.message).toMatchObject({
      type: 'RegistrationRejected',
      data: { ...user, reason: 'email already registered' },
    });
  });

  it('reserves the address of a Registered written without a reservation (the book’s), unless it is held', () => {
    const registered = Registered.parse(stored(exampleRegistered(user), identityStream, 0));
    expect(writes(decideReservationOfRegistered(free, registered)).message).toMatchObject({
      type: 'EmailReserved',
      data: { userId: user.userId, email: user.email },
    });
    expect(decideReservationOfRegistered(heldByUser, registered)).toEqual({
      kind: 'nothing',
      reason: 'address already reserved',
    });
  });

  it('has rules for blank, too long and malformed addresses', () => {
    expect(registrationProblem({ email: 'someone@example.com' })).toBeNull();
    expect(registrationProblem({ email: '   ' })).toBe('email is blank');
    expect(registrationProblem({ email: `${'a'.repeat(250)}@example.com` })).toBe(
      'email is longer than 254 characters',
    );
    expect(registrationProblem({ email: 'someone@' })).toBe('email is not a well-formed address');
    expect(registrationProblem({ email: ' someone@example.com' })).toBe('email is not a well-formed address');
  });
});

describe('UnlockAccount', () => {
  const lockedAt = new Date('2026-01-01T12:00:00Z');
  const unlocking = decisionSpec(identityProjection, decideUnlock);
  const registered = () => stored(exampleRegistered(user), identityStream, 0);
  const locked = () => stored(exampleAccountLocked(user), identityStream, 1, lockedAt);
  const unlockAt = (position: number, time: Date) =>
    UnlockAccount.parse(stored(exampleUnlockAccount(user), commandStream, position, time));

  it('unlocks a locked account', () => {
    const command = unlockAt(1, new Date('2026-01-01T12:30:00Z'));
    unlocking
      .given(registered(), locked())
      .when(command)
      .then(identityStream, {
        type: 'AccountUnlocked',
        data: { userId: user.userId },
        metadata: { traceId: command.metadata.traceId, userId: command.metadata.userId },
      });
  });

  it('does nothing when not locked, for a command older than the lock, or once answered', () => {
    const later = new Date('2026-01-01T12:30:00Z');
    unlocking.given(registered()).when(unlockAt(1, later)).thenNothing('account is not locked');
    unlocking
      .given(registered(), locked())
      .when(unlockAt(1, new Date('2026-01-01T11:59:00Z')))
      .thenNothing('command is older than the lock');
    const command = unlockAt(1, later);
    const unlocked = unlocking.given(registered(), locked()).when(command).then(identityStream, 'AccountUnlocked');
    unlocking
      .given(
        registered(),
        locked(),
        stored(unlocked.message, identityStream, 2, later),
        stored(exampleAccountLocked(user), identityStream, 3, new Date('2026-01-01T14:00:00Z')),
      )
      .when(command)
      .thenNothing('command already handled');
  });
});

describe('Registered → EmailConfirmationRequested → Send', () => {
  const templates = createEmailTemplates({ appName: 'Video Tutorials' });
  const policy = { appUrl: 'https://videos.example.com/', linkTtlMs: 48 * 3_600_000 };
  const registered = Registered.parse(stored(exampleRegistered(user), identityStream, 0));

  it('asks for a confirmation: the hash of the token, never the token, valid 48 hours from the registration', () => {
    const decision = writes(decideConfirmationRequest(given([registered]), registered, 'the-token', policy));
    expect(decision.streamName).toBe(identityStream);
    expect(decision.message).toMatchObject({
      type: 'EmailConfirmationRequested',
      data: {
        userId: user.userId,
        email: user.email,
        emailId: registrationEmailId(user.email),
        tokenHash: tokenHashOf('the-token'),
        expiresAt: new Date(registered.time.getTime() + policy.linkTtlMs).toISOString(),
      },
    });
    expect(JSON.stringify(decision.message)).not.toContain('the-token');
    // Decided twice (another instance): the same message id, so one is written.
    expect(writes(decideConfirmationRequest(given([registered]), registered, 'other', policy)).message.id).toBe(
      decision.message.id,
    );
  });

  it('then asks send-email for the registration e-mail with the link, on behalf of the identity stream', () => {
    const requested = writes(decideConfirmationRequest(given([registered]), registered, 'the-token', policy));
    const request = EmailConfirmationRequested.parse(stored(requested.message, identityStream, 1));
    const decision = confirmationEmail(registered, request, 'the-token', templates, policy);
    const emailId = registrationEmailId(user.email);
    expect(decision.streamName).toBe(sendEmailCommandStreamName(emailId));
    expect(decision.message).toMatchObject({
      id: sendCommandIdFor(registered),
      type: 'Send',
      data: { emailId, to: user.email, subject: 'Welcome to Video Tutorials' },
      metadata: {
        originStreamName: identityStream,
        correlationStreamName: identityStream,
        traceId: registered.metadata.traceId,
        causationMessageStreamName: identityStream,
        causationMessagePosition: 0,
      },
    });
    expect(decision.message.data.text).toContain(
      `https://videos.example.com/auth/confirm-email?userId=${user.userId}&token=the-token`,
    );
  });

  it('derives emailId as the book does (UUID v5 of the address in its namespace)', () => {
    expect(REGISTRATION_EMAIL_NAMESPACE).toBe('0c46e0b7-dfaf-443a-b150-053b67905cc2');
    expect(registrationEmailId('someone@example.com')).toBe(registrationEmailId('someone@example.com'));
    expect(registrationEmailId('someone@example.com')).not.toBe(registrationEmailId('someone.else@example.com'));
  });

  it('does nothing once asked for, or once the e-mail was sent (a store written by the book)', () => {
    const requested = writes(decideConfirmationRequest(given([registered]), registered, 'token', policy)).message;
    expect(
      decideConfirmationRequest(given([registered, stored(requested, identityStream, 1)]), registered, 'x', policy),
    ).toEqual({ kind: 'nothing', reason: 'registration e-mail already asked for' });
    const sent = given([registered, stored(exampleRegistrationEmailSent(user), identityStream, 1)]);
    expect(decideConfirmationRequest(sent, registered, 'x', policy)).toEqual({
      kind: 'nothing',
      reason: 'registration e-mail already sent',
    });
  });
});

describe('ConfirmEmail', () => {
  const policy = { appUrl: 'http://localhost:3000', linkTtlMs: 3_600_000 };
  const registered = Registered.parse(stored(exampleRegistered(user), identityStream, 0));
  const requested = writes(decideConfirmationRequest(given([registered]), registered, 'good-token', policy)).message;
  const history = [registered, stored(requested, identityStream, 1)];
  const confirm = (token: string, position: number, time = registered.time) =>
    ConfirmEmail.parse(stored(ConfirmEmail.create({ userId: user.userId, token }), commandStream, position, time));

  it('given a link sent, its token confirms the address', () => {
    expect(writes(decideConfirmation(given(history), confirm('good-token', 0))).message).toMatchObject({
      type: 'EmailConfirmed',
      data: { userId: user.userId, email: user.email },
    });
  });

  it('rejects a wrong token and an expired link', () => {
    expect(writes(decideConfirmation(given(history), confirm('guess', 0))).message).toMatchObject({
      type: 'EmailConfirmationRejected',
      data: { reason: 'link not valid' },
    });
    const late = new Date(registered.time.getTime() + policy.linkTtlMs);
    expect(writes(decideConfirmation(given(history), confirm('good-token', 0, late))).message).toMatchObject({
      type: 'EmailConfirmationRejected',
      data: { reason: 'link expired' },
    });
  });

  it('is one-time: once confirmed the token does nothing, and a replay of the command does nothing', () => {
    const command = confirm('good-token', 0);
    const confirmed = writes(decideConfirmation(given(history), command)).message;
    const after = given([...history, stored(confirmed, identityStream, 2)]);
    expect(after).toMatchObject({ emailConfirmed: true, confirmationTokens: [] });
    expect(decideConfirmation(after, command)).toEqual({ kind: 'nothing', reason: 'command already handled' });
    expect(decideConfirmation(after, confirm('good-token', 1))).toEqual({
      kind: 'nothing',
      reason: 'address already confirmed',
    });
  });
});

describe('Sent → RegistrationEmailSent', () => {
  const recording = decisionSpec(identityProjection, decideRegistrationEmailSent);
  const sentFor = (email = user.email) =>
    Sent.parse(stored(exampleSent({ ...user, email }), `sendEmail-${registrationEmailId(email)}`, 1));
  const registered = () => stored(exampleRegistered(user), identityStream, 0);

  it('records the registration e-mail as sent', () => {
    const sent = sentFor();
    recording
      .given(registered())
      .when(sent)
      .then(identityStream, {
        type: 'RegistrationEmailSent',
        data: { userId: user.userId, emailId: registrationEmailId(user.email) },
        metadata: { traceId: sent.metadata.traceId, causationMessageStreamName: sent.streamName },
      });
  });

  it('does nothing when recorded already, for another e-mail, or for an unregistered identity', () => {
    const sent = stored(exampleRegistrationEmailSent(user), identityStream, 1);
    expect(decideRegistrationEmailSent(given([registered(), sent]), sentFor()).kind).toBe('nothing');
    recording.given(registered()).when(sentFor('other@example.com')).thenNothing('not the registration e-mail');
    recording.given().when(sentFor()).thenNothing('identity is not registered');
  });
});
