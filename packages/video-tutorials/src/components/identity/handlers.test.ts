import { setTimeout as sleep } from 'node:timers/promises';
import { createMessageStore, InvalidMessageError, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, handlerSpec, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticationStreamName } from '../../contracts/authentication.js';
import { identityCommandStreamName, identityEmailStreamName, identityStreamName } from '../../contracts/identity.js';
import { sendEmailCommandStreamName, sendEmailStreamName } from '../../contracts/send-email.js';
import {
  bookRegistration,
  exampleRegister,
  exampleRegistered,
  exampleRegistrationEmailSent,
  exampleSent,
  exampleUnlockAccount,
  exampleUser,
  exampleUserLoggedIn,
  exampleUserLoginFailed,
  written,
} from './controls.js';
import { tokenHashOf } from './confirmation.js';
import { registrationEmailId, sendCommandIdFor } from './ids.js';
import { build, type LockPolicy } from './index.js';
import { handleTwice, typesIn as typesInStore } from '../../test-support/database.js';

// Every handler is called twice with the same message: the second call must change nothing.

let test: TestDatabase;
let store: MessageStore;

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterAll(() => test.drop());

const handlers = (lockPolicy?: Partial<LockPolicy>) =>
  build({ messageStore: store, ...(lockPolicy ? { lockPolicy } : {}) }).handlers;

const messagesIn = (streamName: string) => store.read(streamName);
const typesIn = (streamName: string) => typesInStore(store, streamName);

describe('identity commands', () => {
  it('Register → Registered, following the command, once', async () => {
    const user = exampleUser();
    const identityStream = identityStreamName(user.userId);

    const {
      outcomes: [first, second],
      message: command,
      streams,
    } = await handlerSpec(store)
      .when(identityCommandStreamName(user.userId), exampleRegister(user), handlers().commands.Register)
      .then({ [identityStream]: ['Registered'] });

    expect(streams[identityStream]![0]).toMatchObject({
      type: 'Registered',
      data: command.data,
      metadata: {
        traceId: command.metadata.traceId,
        userId: user.userId,
        causationMessageStreamName: command.streamName,
        causationMessagePosition: command.position,
        causationMessageGlobalPosition: command.globalPosition,
      },
    });
    expect(first).toMatchObject({ kind: 'written', type: 'Registered', position: 0 });
    expect(second).toEqual({ kind: 'nothing', reason: 'command already handled' });
  });

  it('a second Register for a registered user writes nothing', async () => {
    const user = exampleUser();
    const commandStream = identityCommandStreamName(user.userId);
    await handlers().commands.Register(await written(store, commandStream, exampleRegister(user)));
    const again = await written(store, commandStream, exampleRegister(user));

    const outcomes = await handleTwice(handlers().commands.Register, again);

    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);
    expect(outcomes).toEqual([
      { kind: 'nothing', reason: 'already registered' },
      { kind: 'nothing', reason: 'already registered' },
    ]);
  });

  it('reserves the address first; a Register of an address held by another user → RegistrationRejected, once', async () => {
    const holder = exampleUser();
    const other = exampleUser({ email: holder.email.toUpperCase() });
    const first = await written(store, identityCommandStreamName(holder.userId), exampleRegister(holder));
    const [registered, again] = await handleTwice(handlers().commands.Register, first);
    expect(registered).toMatchObject({ kind: 'written', type: 'Registered' });
    expect(again).toEqual({ kind: 'nothing', reason: 'command already handled' });
    expect((await messagesIn(identityEmailStreamName(holder.email))).map((event) => event.data)).toEqual([
      { userId: holder.userId, email: holder.email },
    ]);

    const second = await written(store, identityCommandStreamName(other.userId), exampleRegister(other));
    const outcomes = await handleTwice(handlers().commands.Register, second);

    expect(outcomes[0]).toMatchObject({ kind: 'written', type: 'RegistrationRejected' });
    expect(outcomes[1]).toEqual({ kind: 'nothing', reason: 'command already handled' });
    const [rejection] = await messagesIn(identityStreamName(other.userId));
    expect(rejection).toMatchObject({ type: 'RegistrationRejected', data: { reason: 'email already registered' } });
    expect(await messagesIn(identityEmailStreamName(holder.email))).toHaveLength(1);
  });

  it('Registered written without a reservation (the book’s) gets one, so its address stays taken', async () => {
    const user = exampleUser();
    const event = await written(store, identityStreamName(user.userId), exampleRegistered(user));
    await handleTwice(handlers().events.Registered, event);
    expect((await messagesIn(identityEmailStreamName(user.email))).map((message) => message.data.userId)).toEqual([
      user.userId,
    ]);
  });

  it('a Register that breaks a rule → RegistrationRejected with the reason, once', async () => {
    const user = exampleUser({ email: 'someone@' });
    const command = await written(store, identityCommandStreamName(user.userId), exampleRegister(user));

    await handleTwice(handlers().commands.Register, command);

    const events = await messagesIn(identityStreamName(user.userId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'RegistrationRejected',
      data: { ...command.data, reason: 'email is not a well-formed address' },
    });
  });

  it('a malformed or misplaced command fails validation (the subscription parks it)', async () => {
    const user = exampleUser();
    const malformed = await written(store, identityCommandStreamName(user.userId), {
      ...exampleRegister(user),
      data: { userId: user.userId, email: user.email },
    });
    await expect(handlers().commands.Register(malformed)).rejects.toBeInstanceOf(InvalidMessageError);
    const elsewhere = await written(store, identityCommandStreamName(exampleUser().userId), exampleRegister(user));
    await expect(handlers().commands.Register(elsewhere)).rejects.toThrow(/expected identity:command-/);
    expect(await messagesIn(identityStreamName(user.userId))).toHaveLength(0);
  });

  it('UnlockAccount of an account that is not locked writes nothing', async () => {
    const user = exampleUser();

    const { outcomes } = await handlerSpec(store)
      .given(identityStreamName(user.userId), exampleRegistered(user))
      .when(identityCommandStreamName(user.userId), exampleUnlockAccount(user), handlers().commands.UnlockAccount)
      .then({ [identityStreamName(user.userId)]: ['Registered'] });

    expect(outcomes[0]).toEqual({ kind: 'nothing', reason: 'account is not locked' });
  });
});

describe('identity events', () => {
  it('Registered → one Send of the registration e-mail, on behalf of the identity stream', async () => {
    const user = exampleUser({ email: "o'brien@example.com" });
    const registered = await written(store, identityStreamName(user.userId), exampleRegistered(user));

    const [first, second] = await handleTwice(handlers().events.Registered, registered);

    const emailId = registrationEmailId(user.email);
    const commands = await messagesIn(sendEmailCommandStreamName(emailId));
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({
      id: sendCommandIdFor(registered),
      type: 'Send',
      data: { emailId, to: user.email, subject: 'Welcome to Video Tutorials' },
      metadata: {
        originStreamName: identityStreamName(user.userId),
        correlationStreamName: identityStreamName(user.userId),
        traceId: registered.metadata.traceId,
        userId: user.userId,
        causationMessageStreamName: registered.streamName,
        causationMessagePosition: registered.position,
      },
    });
    expect(commands[0]?.data.html).toContain('o&#39;brien@example.com');
    expect(first).toMatchObject({ kind: 'written', type: 'Send' });
    expect(second).toEqual({ kind: 'nothing', reason: 'registration e-mail already asked for' });
    // The link's token is in the e-mail; the identity stream holds only its hash.
    const [request] = (await messagesIn(identityStreamName(user.userId))).filter(
      (event) => event.type === 'EmailConfirmationRequested',
    );
    const token = /token=([A-Za-z0-9_-]+)/.exec(String(commands[0]?.data.text))![1]!;
    expect(request?.data.tokenHash).toBe(tokenHashOf(token));
  });

  it('Registered after the e-mail was recorded as sent writes nothing', async () => {
    const user = exampleUser();
    const registered = await written(store, identityStreamName(user.userId), exampleRegistered(user));
    await written(store, identityStreamName(user.userId), exampleRegistrationEmailSent(user));

    await handleTwice(handlers().events.Registered, registered);

    expect(await messagesIn(sendEmailCommandStreamName(registrationEmailId(user.email)))).toHaveLength(0);
  });
});

describe('send-email events', () => {
  it('Sent (origin identity) → RegistrationEmailSent, once', async () => {
    const user = exampleUser();
    const identityStream = identityStreamName(user.userId);

    const {
      outcomes: [, second],
      message: sent,
      streams,
    } = await handlerSpec(store)
      .given(identityStream, exampleRegistered(user))
      .when(sendEmailStreamName(registrationEmailId(user.email)), exampleSent(user), handlers().sendEmailEvents.Sent)
      .then({ [identityStream]: ['Registered', 'RegistrationEmailSent'] });

    expect(streams[identityStream]![1]).toMatchObject({
      data: { userId: user.userId, emailId: registrationEmailId(user.email) },
      metadata: { traceId: sent.metadata.traceId, causationMessageStreamName: sent.streamName },
    });
    expect(second).toEqual({ kind: 'nothing', reason: 'registration e-mail already recorded as sent' });
  });

  it('a Sent asked for by another category is not identity’s; a broken identity origin fails validation', async () => {
    const user = exampleUser();
    await written(store, identityStreamName(user.userId), exampleRegistered(user));
    const emailStream = sendEmailStreamName(registrationEmailId(user.email));
    const foreign = await written(store, emailStream, exampleSent(user, `videoPublishing-${user.userId}`));
    expect(await handleTwice(handlers().sendEmailEvents.Sent, foreign)).toEqual([
      { kind: 'nothing', reason: 'not an e-mail identity asked for' },
      { kind: 'nothing', reason: 'not an e-mail identity asked for' },
    ]);
    const broken = await written(store, emailStream, exampleSent(user, 'identity-not-a-uuid'));
    await expect(handlers().sendEmailEvents.Sent(broken)).rejects.toBeInstanceOf(InvalidMessageError);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);
  });
});

describe('what the book’s system wrote', () => {
  it('the book’s Sent (no from, origin without correlation) → RegistrationEmailSent, once', async () => {
    const user = await bookRegistration(test.db, 'Sent');
    const [sent] = await messagesIn(sendEmailStreamName(user.emailId));
    expect(sent?.metadata.correlationStreamName).toBeUndefined();

    const [first, second] = await handleTwice(handlers().sendEmailEvents.Sent, sent!);

    expect(first).toMatchObject({ kind: 'written', type: 'RegistrationEmailSent' });
    expect(second).toEqual({ kind: 'nothing', reason: 'registration e-mail already recorded as sent' });
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered', 'RegistrationEmailSent']);
  });

  it('this system’s own Sent is still held to its contract: without from it fails validation', async () => {
    const user = exampleUser();
    await written(store, identityStreamName(user.userId), exampleRegistered(user));
    const { from: _from, ...withoutFrom } = exampleSent(user).data;
    const sent = await written(store, sendEmailStreamName(registrationEmailId(user.email)), {
      ...exampleSent(user),
      data: withoutFrom,
    });
    expect(sent.metadata.correlationStreamName).toBe(identityStreamName(user.userId));
    await expect(handlers().sendEmailEvents.Sent(sent)).rejects.toBeInstanceOf(InvalidMessageError);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);
  });

  it('Registered whose e-mail the book had asked for (its Send, no Sent yet) asks for nothing more', async () => {
    const user = await bookRegistration(test.db, 'Send');
    const [registered] = await messagesIn(identityStreamName(user.userId));

    expect(await handleTwice(handlers().events.Registered, registered!)).toEqual([
      { kind: 'nothing', reason: 'registration e-mail already asked for' },
      { kind: 'nothing', reason: 'registration e-mail already asked for' },
    ]);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);
    expect(await typesIn(sendEmailCommandStreamName(user.emailId))).toEqual(['Send']);
  });
});

describe('authentication events: account locking', () => {
  const policy = { maxFailures: 3, windowMs: 60_000 };

  async function registeredUser() {
    const user = exampleUser();
    await written(store, identityStreamName(user.userId), exampleRegistered(user));
    return user;
  }

  /** Writes a failed log-in and handles it twice. */
  async function failLogIn(user: { userId: string; email: string }, lockPolicy: Partial<LockPolicy> = policy) {
    const failure = await written(store, authenticationStreamName(user.userId), exampleUserLoginFailed(user));
    return handleTwice(handlers(lockPolicy).authenticationEvents.UserLoginFailed, failure);
  }

  it('locks after maxFailures failures within the window, once', async () => {
    const user = await registeredUser();
    await failLogIn(user);
    await failLogIn(user);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);

    const [first, second] = await failLogIn(user);

    const events = await messagesIn(identityStreamName(user.userId));
    expect(events.map((event) => event.type)).toEqual(['Registered', 'AccountLocked']);
    expect(events[1]?.data).toMatchObject({
      userId: user.userId,
      failedLoginCount: 3,
      reason: '3 failed log-ins within 1 minute',
    });
    expect(first).toMatchObject({ kind: 'written', type: 'AccountLocked' });
    expect(second).toEqual({ kind: 'nothing', reason: 'account already locked' });
    // A temporary lock, and one e-mail to the owner with the unlock link (its token's hash in the lock).
    const lock = events[1]!;
    expect(Date.parse(String(lock.data.lockedUntil)) - lock.time.getTime()).toBeGreaterThan(0);
    const sends = (await store.read('sendEmail:command', { from: 0, max: 10_000 })).filter(
      (send) => send.data.to === user.email,
    );
    expect(sends).toHaveLength(1);
    const token = /\/auth\/unlock\?userId=[0-9a-f-]+&token=([A-Za-z0-9_-]+)/.exec(String(sends[0]!.data.text))![1]!;
    expect(lock.data.unlockTokenHash).toBe(tokenHashOf(token));
  });

  it('does not lock when the failures are spread outside the window', async () => {
    const user = await registeredUser();
    const spread = { maxFailures: 3, windowMs: 100 };
    for (let failures = 0; failures < 4; failures++) {
      if (failures > 0) await sleep(150); // spread out in time, which is what is shown
      await failLogIn(user, spread);
    }
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);
  });

  it('a successful log-in resets the count', async () => {
    const user = await registeredUser();
    await failLogIn(user);
    await failLogIn(user);
    await written(store, authenticationStreamName(user.userId), exampleUserLoggedIn(user));
    await failLogIn(user);
    await failLogIn(user);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered']);
  });

  it('UnlockAccount → AccountUnlocked once; failures before the unlock do not lock again', async () => {
    const user = await registeredUser();
    const failures: StoredMessage[] = [];
    for (let count = 0; count < 3; count++) {
      failures.push(await written(store, authenticationStreamName(user.userId), exampleUserLoginFailed(user)));
      await handleTwice(handlers(policy).authenticationEvents.UserLoginFailed, failures[count]!);
    }
    const unlock = await written(store, identityCommandStreamName(user.userId), exampleUnlockAccount(user));

    const [first, second] = await handleTwice(handlers(policy).commands.UnlockAccount, unlock);

    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered', 'AccountLocked', 'AccountUnlocked']);
    expect(first).toMatchObject({ kind: 'written', type: 'AccountUnlocked' });
    expect(second).toEqual({ kind: 'nothing', reason: 'command already handled' });

    // One more failure: the three before the unlock no longer count. Replaying the old ones changes nothing.
    await failLogIn(user);
    for (const failure of failures) await handleTwice(handlers(policy).authenticationEvents.UserLoginFailed, failure);
    expect(await typesIn(identityStreamName(user.userId))).toEqual(['Registered', 'AccountLocked', 'AccountUnlocked']);

    // Three failures after the unlock lock it again.
    await failLogIn(user);
    await failLogIn(user);
    expect(await typesIn(identityStreamName(user.userId))).toEqual([
      'Registered',
      'AccountLocked',
      'AccountUnlocked',
      'AccountLocked',
    ]);
    // The old unlock, replayed, does not lift the new lock.
    await handleTwice(handlers(policy).commands.UnlockAccount, unlock);
    expect(await typesIn(identityStreamName(user.userId))).toHaveLength(4);
  });
});

describe('replaying every command and event from the start', () => {
  it('changes nothing', async () => {
    const user = exampleUser();
    const { commands, events, sendEmailEvents } = handlers();
    const command = await written(store, identityCommandStreamName(user.userId), exampleRegister(user));
    await commands.Register(command);
    const [registered] = await messagesIn(identityStreamName(user.userId));
    await events.Registered(registered!);
    const emailId = registrationEmailId(user.email);
    const sent = await written(store, sendEmailStreamName(emailId), exampleSent(user));
    await sendEmailEvents.Sent(sent);
    const before = await store.read('$all', { from: 0, max: 100_000 });

    await commands.Register(command);
    await events.Registered(registered!);
    await sendEmailEvents.Sent(sent);

    expect(await store.read('$all', { from: 0, max: 100_000 })).toEqual(before);
  });
});
