import { createMessageStore, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeleteAccount,
  identityCommandStreamName,
  identityEmailStreamName,
  identityStreamName,
  LogOutEverywhere,
} from '../../contracts/identity.js';
import { sendEmailCommandStreamName } from '../../contracts/send-email.js';
import { exampleRegister, exampleUser, written } from './controls.js';
import { registrationEmailId } from './ids.js';
import { build } from './index.js';
import { handleTwice, typesIn as typesInStore } from '../../test-support/database.js';

// Every handler is called twice with the same message: the second call must change nothing.

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

/** Registers `user` as identity does: the command, then identity's own Registered (which asks for the e-mail). */
async function registered(user = exampleUser(), displayName?: string) {
  const command = await written(store, identityCommandStreamName(user.userId), {
    ...exampleRegister(user),
    data: { ...exampleRegister(user).data, ...(displayName ? { displayName } : {}) },
  });
  const { commands, events } = handlers();
  await commands.Register(command);
  await commands.Register(command);
  const [event] = (await store.read(identityStreamName(user.userId))).filter((e) => e.type === 'Registered');
  await events.Registered(event!);
  return user;
}

const deleteAccount = (userId: string) => DeleteAccount.create({ userId, currentPasswordVerified: true });

describe('the registration e-mail', () => {
  it('greets the name given at registration and links to the site', async () => {
    const user = await registered(exampleUser(), 'Ada <Lovelace>');
    const [send] = await store.read(sendEmailCommandStreamName(registrationEmailId(user.email)));
    const { text, html } = send!.data as { text: string; html: string };
    expect(text).toMatch(/^Welcome, Ada <Lovelace>!/);
    expect(text).toContain('https://videos.example.com/\n');
    expect(text).toMatch(/Security: [^\n]*\nhttps:\/\/videos\.example\.com\/auth\/confirm-email\?userId=/);
    expect(html).toContain('Welcome, Ada &lt;Lovelace&gt;!');
  });
});

describe('LogOutEverywhere', () => {
  it('→ LoggedOutEverywhere, once', async () => {
    const user = await registered();
    const command = await written(
      store,
      identityCommandStreamName(user.userId),
      LogOutEverywhere.create({ userId: user.userId }),
    );
    const [first, second] = await handleTwice(handlers().commands.LogOutEverywhere, command);
    expect(first).toMatchObject({ kind: 'written', type: 'LoggedOutEverywhere' });
    expect(second).toEqual({ kind: 'nothing', reason: 'command already handled' });
    expect(
      (await typesIn(identityStreamName(user.userId))).filter((type) => type === 'LoggedOutEverywhere'),
    ).toHaveLength(1);
  });
});

describe('DeleteAccount', () => {
  it('→ AccountDeleted once; identity handling it releases the address once', async () => {
    const user = await registered();
    const command = await written(store, identityCommandStreamName(user.userId), deleteAccount(user.userId));
    const [first, second] = await handleTwice(handlers().commands.DeleteAccount, command);
    expect(first).toMatchObject({ kind: 'written', type: 'AccountDeleted' });
    expect(second).toEqual({ kind: 'nothing', reason: 'command already handled' });

    const [deleted] = (await store.read(identityStreamName(user.userId))).filter((e) => e.type === 'AccountDeleted');
    const [released, again] = await handleTwice(handlers().events.AccountDeleted, deleted!);
    expect(released).toMatchObject({ kind: 'written', type: 'EmailReleased' });
    expect(again).toEqual({ kind: 'nothing', reason: 'address not held by this account' });
    expect(await typesIn(identityEmailStreamName(user.email))).toEqual(['EmailReserved', 'EmailReleased']);
  });

  it('two instances deciding at once write one AccountDeleted', async () => {
    const user = await registered();
    const command = await written(store, identityCommandStreamName(user.userId), deleteAccount(user.userId));
    const outcomes = await Promise.all([
      handlers().commands.DeleteAccount(command),
      handlers().commands.DeleteAccount(command),
    ]);
    expect(outcomes.filter((outcome) => outcome.kind === 'written')).toHaveLength(1);
    expect((await typesIn(identityStreamName(user.userId))).filter((type) => type === 'AccountDeleted')).toHaveLength(
      1,
    );
  });

  it('the address can be registered again, by a new account, in any letter case', async () => {
    const user = await registered();
    await handlers().commands.DeleteAccount(
      await written(store, identityCommandStreamName(user.userId), deleteAccount(user.userId)),
    );
    const [deleted] = (await store.read(identityStreamName(user.userId))).filter((e) => e.type === 'AccountDeleted');
    await handlers().events.AccountDeleted(deleted!);

    const newcomer = await registered(exampleUser({ email: user.email.toUpperCase() }));
    expect(await typesIn(identityStreamName(newcomer.userId))).toContain('Registered');
    expect(await typesIn(identityEmailStreamName(user.email))).toEqual([
      'EmailReserved',
      'EmailReleased',
      'EmailReserved',
    ]);

    // Replaying the deleted account's events (its Registered, its AccountDeleted) takes nothing from the newcomer.
    const oldEvents = await store.read(identityStreamName(user.userId));
    for (const event of oldEvents) {
      const handler = handlers().events[event.type as keyof ReturnType<typeof handlers>['events']];
      if (handler) await handler(event);
    }
    expect(await typesIn(identityEmailStreamName(user.email))).toEqual([
      'EmailReserved',
      'EmailReleased',
      'EmailReserved',
    ]);
  });
});
