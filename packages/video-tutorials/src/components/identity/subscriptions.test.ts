import { createMessageStore, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { authenticationStreamName } from '../../contracts/authentication.js';
import { identityCommandStreamName, identityStreamName } from '../../contracts/identity.js';
import { sendEmailCommandStreamName, sendEmailStreamName } from '../../contracts/send-email.js';
import { exampleRegister, exampleSent, exampleUser, exampleUserLoginFailed, written } from './controls.js';
import { registrationEmailId } from './ids.js';
import { build } from './index.js';

let test: TestDatabase;
let store: MessageStore;
const running: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((piece) => piece.stop()));
});
afterAll(() => test.drop());

/** Another store on the same data: a separate pool on PostgreSQL (PGlite has one session in one process). */
const anotherStore = () => (testDatabaseKind === 'postgres' ? createMessageStore({ db: test.connectAgain() }) : store);

async function started(identity: ReturnType<typeof build>) {
  running.push(identity);
  await identity.start();
  return identity;
}

async function caughtUp(identity: ReturnType<typeof build>) {
  for (const subscription of identity.subscriptions) await subscription.waitUntilCaughtUp();
}

describe('the identity component', () => {
  it('is a piece named identity with four subscriptions', () => {
    const identity = build({ messageStore: store });
    expect(identity.name).toBe('identity');
    expect(identity.subscriptions).toHaveLength(4);
    expect(Object.keys(identity.handlers)).toEqual(['commands', 'events', 'sendEmailEvents', 'authenticationEvents']);
  });

  it('runs a registration through its subscriptions: Register → Registered → Send; Sent → RegistrationEmailSent', async () => {
    const identity = await started(build({ messageStore: store, appName: 'Video Tutorials' }));
    const user = exampleUser();
    await written(store, identityCommandStreamName(user.userId), exampleRegister(user));
    await caughtUp(identity);

    const emailId = registrationEmailId(user.email);
    const [send] = await store.read(sendEmailCommandStreamName(emailId));
    expect(send).toMatchObject({
      type: 'Send',
      data: { emailId, to: user.email },
      metadata: { originStreamName: identityStreamName(user.userId) },
    });

    // What send-email does next: `Sent`, with the origin copied on.
    await written(store, sendEmailStreamName(emailId), exampleSent(user, send!.metadata.originStreamName));
    await caughtUp(identity);
    expect((await store.read(identityStreamName(user.userId))).map((event) => event.type)).toEqual([
      'Registered',
      'EmailConfirmationRequested',
      'RegistrationEmailSent',
    ]);
  });

  it('only sees the e-mails it asked for (origin filtering)', async () => {
    const identity = await started(build({ messageStore: store }));
    const user = exampleUser();
    await written(store, identityCommandStreamName(user.userId), exampleRegister(user));
    await caughtUp(identity);
    // A Sent whose origin is another category, naming this identity's e-mail: never handed to identity.
    const emailId = registrationEmailId(user.email);
    await written(store, sendEmailStreamName(emailId), exampleSent(user, `videoPublishing-${user.userId}`));
    await caughtUp(identity);
    expect((await store.read(identityStreamName(user.userId))).map((event) => event.type)).toEqual([
      'Registered',
      'EmailConfirmationRequested',
    ]);
  });

  it('locks an account through its subscription', async () => {
    const identity = await started(build({ messageStore: store, lockPolicy: { maxFailures: 2 } }));
    const user = exampleUser();
    await written(store, identityCommandStreamName(user.userId), exampleRegister(user));
    await caughtUp(identity);
    await written(store, authenticationStreamName(user.userId), exampleUserLoginFailed(user));
    await written(store, authenticationStreamName(user.userId), exampleUserLoginFailed(user));
    await caughtUp(identity);
    const events = await store.read(identityStreamName(user.userId));
    expect(events.map((event) => event.type)).toEqual(['Registered', 'EmailConfirmationRequested', 'AccountLocked']);
    expect(events[2]?.data).toMatchObject({ failedLoginCount: 2 });
  });
});

describe('two instances of the component', () => {
  it(`handling the same Register concurrently write one Registered (${testDatabaseKind})`, async () => {
    const one = build({ messageStore: store });
    const other = build({ messageStore: anotherStore() });
    const users = Array.from({ length: 20 }, () => exampleUser());
    const commands = await Promise.all(
      users.map((user) => written(store, identityCommandStreamName(user.userId), exampleRegister(user))),
    );

    const outcomes = await Promise.all(
      commands.flatMap((command) => [
        one.handlers.commands.Register(command),
        other.handlers.commands.Register(command),
        one.handlers.commands.Register(command),
        other.handlers.commands.Register(command),
      ]),
    );

    for (const user of users)
      expect((await store.read(identityStreamName(user.userId))).map((event) => event.type)).toEqual(['Registered']);
    expect(outcomes.filter((outcome) => outcome.kind === 'written')).toHaveLength(users.length);
  });

  it(`running side by side write one Registered and one Send per registration (${testDatabaseKind})`, async () => {
    const users = Array.from({ length: 10 }, () => exampleUser());
    for (const user of users) await written(store, identityCommandStreamName(user.userId), exampleRegister(user));
    const one = build({ messageStore: store });
    const other = build({ messageStore: anotherStore() });
    await Promise.all([started(one), started(other)]);
    await Promise.all([caughtUp(one), caughtUp(other)]);

    for (const user of users) {
      expect((await store.read(identityStreamName(user.userId))).map((event) => event.type)).toEqual([
        'Registered',
        'EmailConfirmationRequested',
      ]);
      expect(await store.read(sendEmailCommandStreamName(registrationEmailId(user.email)))).toHaveLength(1);
    }
  });
});
