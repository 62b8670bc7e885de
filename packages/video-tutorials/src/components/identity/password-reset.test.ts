import { randomUUID } from 'node:crypto';
import { createMessageStore, InvalidMessageError, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChangePassword,
  identityCommandStreamName,
  identityStreamName,
  PasswordResetRequested,
  RequestPasswordReset,
  ResetPassword,
} from '../../contracts/identity.js';
import { sendEmailCommandStreamName } from '../../contracts/send-email.js';
import { tokenHashOf } from './confirmation.js';
import { exampleMetadata, exampleRegistered, exampleUser, project, stored, written } from './controls.js';
import type { Decision } from './decisions.js';
import { identityProjection, type Identity } from './identity.js';
import { build } from './index.js';
import {
  decidePasswordChange,
  decidePasswordReset,
  decidePasswordResetRequest,
  passwordResetEmail,
} from './password-reset.js';
import { createEmailTemplates } from './templates.js';
import { handleTwice, typesIn as typesInStore } from '../../test-support/database.js';

const NEW_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$bmV3IHBhc3N3b3JkIGhhc2ggZm9yIHRlc3Rz';
const policy = { appUrl: 'https://videos.example.com/', linkTtlMs: 3_600_000 };

const given = (events: StoredMessage[]): Identity => project(identityProjection, events);
function writes(decision: Decision) {
  if (decision.kind !== 'write') throw new Error(`expected a write, got nothing: ${decision.reason}`);
  return decision;
}

const exampleRequestPasswordReset = (user = exampleUser()) =>
  RequestPasswordReset.create({ userId: user.userId }, { metadata: exampleMetadata({ userId: user.userId }) });
const exampleResetPassword = (user = exampleUser(), token = 'good-token') =>
  ResetPassword.create(
    { userId: user.userId, token, passwordHash: NEW_HASH },
    { metadata: exampleMetadata({ userId: user.userId }) },
  );
const exampleChangePassword = (user = exampleUser()) =>
  ChangePassword.create(
    { userId: user.userId, currentPasswordVerified: true, passwordHash: NEW_HASH },
    { metadata: exampleMetadata({ userId: user.userId }) },
  );

describe('decisions: RequestPasswordReset, ResetPassword, ChangePassword', () => {
  const user = exampleUser();
  const identityStream = identityStreamName(user.userId);
  const commandStream = identityCommandStreamName(user.userId);
  const registered = stored(exampleRegistered(user), identityStream, 0);
  const at = registered.time;
  const request = (position: number) =>
    RequestPasswordReset.parse(stored(exampleRequestPasswordReset(user), commandStream, position, at));
  const reset = (token: string, position: number, time = at) =>
    ResetPassword.parse(stored(exampleResetPassword(user, token), commandStream, position, time));
  /** Registered, then a reset link with `token` asked for by the command at position 0. */
  const requested = (token = 'good-token') => {
    const decision = writes(decidePasswordResetRequest(given([registered]), request(0), token, policy));
    return [registered, stored(decision.message, identityStream, 1)];
  };

  it('given a registered identity, when a reset is asked for, then a request with the hash of the token, for an hour', () => {
    const command = request(0);
    const decision = writes(decidePasswordResetRequest(given([registered]), command, 'good-token', policy));
    expect(decision.streamName).toBe(identityStream);
    expect(decision.message).toMatchObject({
      type: 'PasswordResetRequested',
      data: {
        userId: user.userId,
        tokenHash: tokenHashOf('good-token'),
        expiresAt: new Date(at.getTime() + policy.linkTtlMs).toISOString(),
      },
      metadata: { causationMessageStreamName: commandStream, causationMessagePosition: 0 },
    });
    expect(JSON.stringify(decision.message)).not.toContain('good-token');
    // Deciding again on the same command writes the same message (its id derived from the command's).
    expect(writes(decidePasswordResetRequest(given([registered]), command, 'other', policy)).message.id).toBe(
      decision.message.id,
    );
  });

  it('given no registration, or the command answered already, then nothing', () => {
    expect(decidePasswordResetRequest(given([]), request(0), 't', policy)).toEqual({
      kind: 'nothing',
      reason: 'identity is not registered',
    });
    expect(decidePasswordResetRequest(given(requested()), request(0), 't', policy)).toEqual({
      kind: 'nothing',
      reason: 'command already handled',
    });
  });

  it('the e-mail carries the link with the token, to the registered address', () => {
    const event = PasswordResetRequested.parse(requested()[1]!);
    const send = writes(
      passwordResetEmail(request(0), event, user.email, 'good-token', createEmailTemplates(), policy),
    );
    expect(send.streamName).toBe(sendEmailCommandStreamName(event.data.emailId));
    expect(send.message).toMatchObject({
      type: 'Send',
      data: { to: user.email, subject: 'Reset your Video Tutorials password' },
      metadata: { originStreamName: identityStream },
    });
    expect(String(send.message.data.text)).toContain(
      `https://videos.example.com/auth/reset-password?userId=${user.userId}&token=good-token`,
    );
  });

  it('given a link sent, when its token comes back in time, then PasswordChanged with the new hash', () => {
    const decision = writes(decidePasswordReset(given(requested()), reset('good-token', 1)));
    expect(decision.message).toMatchObject({
      type: 'PasswordChanged',
      data: { userId: user.userId, passwordHash: NEW_HASH, reason: 'reset' },
      metadata: { causationMessageStreamName: commandStream, causationMessagePosition: 1 },
    });
  });

  it('given a link sent, a wrong token or a late one is rejected', () => {
    expect(writes(decidePasswordReset(given(requested()), reset('a guess', 1))).message).toMatchObject({
      type: 'PasswordResetRejected',
      data: { reason: 'link not valid' },
    });
    const late = new Date(at.getTime() + policy.linkTtlMs);
    expect(writes(decidePasswordReset(given(requested()), reset('good-token', 1, late))).message).toMatchObject({
      type: 'PasswordResetRejected',
      data: { reason: 'link expired' },
    });
    expect(writes(decidePasswordReset(given([registered]), reset('good-token', 1))).message).toMatchObject({
      type: 'PasswordResetRejected',
      data: { reason: 'link not valid' },
    });
  });

  it('is one-time: the change spends the token, and a replay of the command does nothing', () => {
    const history = requested();
    const command = reset('good-token', 1);
    const changed = writes(decidePasswordReset(given(history), command)).message;
    const after = [...history, stored(changed, identityStream, 2)];
    expect(given(after)).toMatchObject({ passwordReset: null });
    expect(decidePasswordReset(given(after), command)).toEqual({ kind: 'nothing', reason: 'command already handled' });
    expect(writes(decidePasswordReset(given(after), reset('good-token', 2))).message).toMatchObject({
      type: 'PasswordResetRejected',
      data: { reason: 'link already used' },
    });
  });

  it('a newer request replaces the older token', () => {
    const history = requested('first-token');
    const newer = writes(decidePasswordResetRequest(given(history), request(1), 'second-token', policy)).message;
    const after = [...history, stored(newer, identityStream, 2)];
    expect(writes(decidePasswordReset(given(after), reset('first-token', 2))).message).toMatchObject({
      type: 'PasswordResetRejected',
      data: { reason: 'link not valid' },
    });
    expect(writes(decidePasswordReset(given(after), reset('second-token', 2))).message.type).toBe('PasswordChanged');
  });

  it('given a registered identity, ChangePassword → PasswordChanged (reason change), which spends a reset link too', () => {
    const history = requested();
    const command = ChangePassword.parse(stored(exampleChangePassword(user), commandStream, 1, at));
    const changed = writes(decidePasswordChange(given(history), command)).message;
    expect(changed).toMatchObject({
      type: 'PasswordChanged',
      data: { userId: user.userId, passwordHash: NEW_HASH, reason: 'change' },
    });
    const after = [...history, stored(changed, identityStream, 2)];
    expect(decidePasswordChange(given(after), command)).toEqual({ kind: 'nothing', reason: 'command already handled' });
    expect(writes(decidePasswordReset(given(after), reset('good-token', 2))).message).toMatchObject({
      type: 'PasswordResetRejected',
      data: { reason: 'link not valid' },
    });
    expect(decidePasswordChange(given([]), command)).toEqual({
      kind: 'nothing',
      reason: 'identity is not registered',
    });
  });
});

// The chapter-14 way: a command written into a real message store, its handler run twice, the events asserted.
describe('handlers, twice', () => {
  let test: TestDatabase;
  let store: MessageStore;
  beforeAll(async () => {
    test = await createTestDatabase();
    store = createMessageStore({ db: test.db });
  });
  afterAll(() => test.drop());

  const handlers = () =>
    build({ messageStore: store, confirmationPolicy: { appUrl: 'https://videos.example.com' } }).handlers;
  const typesIn = (streamName: string) => typesInStore(store, streamName);

  /** A registered user who asked for a reset: the token from the e-mail sent. */
  async function withResetLink() {
    const user = exampleUser();
    await written(store, identityStreamName(user.userId), exampleRegistered(user));
    const command = await written(store, identityCommandStreamName(user.userId), exampleRequestPasswordReset(user));
    const [first, second] = await handleTwice(handlers().commands.RequestPasswordReset, command);
    return { user, first, second };
  }

  it('RequestPasswordReset → PasswordResetRequested and one Send with the link, once', async () => {
    const { user, first, second } = await withResetLink();
    expect(first).toMatchObject({ kind: 'written', type: 'PasswordResetRequested' });
    expect(second).toEqual({ kind: 'nothing', reason: 'command already handled' });
    const events = await store.read(identityStreamName(user.userId));
    expect(events.map((event) => event.type)).toEqual(['Registered', 'PasswordResetRequested']);
    const { emailId, tokenHash } = PasswordResetRequested.parse(events[1]!).data;
    const sends = await store.read(sendEmailCommandStreamName(emailId));
    expect(sends).toHaveLength(1);
    const token = /token=([A-Za-z0-9_-]+)/.exec(String(sends[0]!.data.text))![1]!;
    expect(tokenHashOf(token)).toBe(tokenHash);
    expect(JSON.stringify(events)).not.toContain(token);
  });

  it('ResetPassword with the e-mailed token → PasswordChanged once; the same token again → rejected once', async () => {
    const { user } = await withResetLink();
    const [request] = (await store.read(identityStreamName(user.userId))).filter(
      (event) => event.type === 'PasswordResetRequested',
    );
    const [send] = await store.read(sendEmailCommandStreamName(PasswordResetRequested.parse(request!).data.emailId));
    const token = /token=([A-Za-z0-9_-]+)/.exec(String(send!.data.text))![1]!;
    const commandStream = identityCommandStreamName(user.userId);

    const command = await written(store, commandStream, exampleResetPassword(user, token));
    const [first, second] = await handleTwice(handlers().commands.ResetPassword, command);
    expect(first).toMatchObject({ kind: 'written', type: 'PasswordChanged' });
    expect(second).toEqual({ kind: 'nothing', reason: 'command already handled' });

    const again = await written(store, commandStream, exampleResetPassword(user, token));
    const [rejected, replayed] = await handleTwice(handlers().commands.ResetPassword, again);
    expect(rejected).toMatchObject({ kind: 'written', type: 'PasswordResetRejected' });
    expect(replayed).toEqual({ kind: 'nothing', reason: 'command already handled' });

    const events = await store.read(identityStreamName(user.userId));
    expect(events.map((event) => event.type)).toEqual([
      'Registered',
      'PasswordResetRequested',
      'PasswordChanged',
      'PasswordResetRejected',
    ]);
    expect(events[2]).toMatchObject({
      data: { userId: user.userId, passwordHash: NEW_HASH, reason: 'reset' },
      metadata: { traceId: command.metadata.traceId, causationMessagePosition: command.position },
    });
    expect(events[3]).toMatchObject({ data: { reason: 'link already used' } });
  });

  it('two resets with the same token handled at the same time: one change', async () => {
    const { user } = await withResetLink();
    const [request] = (await store.read(identityStreamName(user.userId))).filter(
      (event) => event.type === 'PasswordResetRequested',
    );
    const [send] = await store.read(sendEmailCommandStreamName(PasswordResetRequested.parse(request!).data.emailId));
    const token = /token=([A-Za-z0-9_-]+)/.exec(String(send!.data.text))![1]!;
    const commandStream = identityCommandStreamName(user.userId);
    const first = await written(store, commandStream, exampleResetPassword(user, token));
    const second = await written(store, commandStream, exampleResetPassword(user, token));
    await Promise.all([handlers().commands.ResetPassword(first), handlers().commands.ResetPassword(second)]);
    const types = await typesIn(identityStreamName(user.userId));
    expect(types.filter((type) => type === 'PasswordChanged')).toHaveLength(1);
    // The later command, when decided first, leaves the earlier one answered (it is before its position).
    expect(types.filter((type) => type === 'PasswordResetRejected').length).toBeLessThanOrEqual(1);
  });

  it('ChangePassword → PasswordChanged once, even from two instances at the same time', async () => {
    const user = exampleUser();
    await written(store, identityStreamName(user.userId), exampleRegistered(user));
    const command = await written(store, identityCommandStreamName(user.userId), exampleChangePassword(user));
    const outcomes = await Promise.all([
      handlers().commands.ChangePassword(command),
      handlers().commands.ChangePassword(command),
    ]);
    await handlers().commands.ChangePassword(command);
    expect(outcomes.filter((outcome) => outcome.kind === 'written')).toHaveLength(1);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered', 'PasswordChanged']);
  });

  it('a command without a verified current password, or in another user’s stream, is malformed', async () => {
    const user = exampleUser();
    const unverified = await written(store, identityCommandStreamName(user.userId), {
      ...exampleChangePassword(user),
      data: { userId: user.userId, currentPasswordVerified: false, passwordHash: NEW_HASH },
    });
    await expect(handlers().commands.ChangePassword(unverified)).rejects.toBeInstanceOf(InvalidMessageError);
    const misplaced = await written(store, identityCommandStreamName(randomUUID()), exampleChangePassword(user));
    await expect(handlers().commands.ChangePassword(misplaced)).rejects.toThrow();
    expect(await typesIn(identityStreamName(user.userId))).toEqual([]);
  });
});
