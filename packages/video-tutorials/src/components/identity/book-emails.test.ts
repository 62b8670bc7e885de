import type { MessageStore, StoredMessage } from 'message-db-toolkit';
import { testDatabaseKind, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as registrationMonitor from '../../aggregators/registration-monitor/index.js';
import { identityCategory, identityStreamName } from '../../contracts/identity.js';
import { sendEmailCategory, sendEmailCommandStreamName, sendEmailStreamName } from '../../contracts/send-email.js';
import type { Piece } from '../../piece.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import * as sendEmail from '../send-email/index.js';
import { startTestSmtpServer, systemSenderEmailAddress, type TestSmtpServer } from '../send-email/controls.js';
import { createEmailTransport } from '../send-email/transport.js';
import { bookRegistration } from './controls.js';
import { build } from './index.js';

/**
 * Taking over a message store written by the book's system: its registrations, stopped at every step of the
 * registration e-mail, are finished by identity and send-email — each e-mail asked for once, sent once, and
 * recorded once — and the registration monitor flags none of them.
 */
let test: TestDatabase & { store: MessageStore };
let smtpServer: TestSmtpServer;

beforeAll(async () => {
  test = await createSystemTestDatabase();
  smtpServer = await startTestSmtpServer();
});
afterAll(async () => {
  await smtpServer.close();
  await test.drop();
});

function buildPieces() {
  const identity = build({ messageStore: test.store });
  const emails = sendEmail.build({
    messageStore: test.store,
    transport: createEmailTransport({ smtpUrl: smtpServer.url }),
    systemSenderEmailAddress,
    retryDelayMs: 10,
  });
  const monitor = registrationMonitor.build({ store: test.store, viewData: test.db, limitMs: 60_000 });
  return { identity, emails, monitor, pieces: [identity, emails, monitor] as Piece[] };
}

/** Until every subscription has nothing left: each piece's output is another's input, so a few rounds. */
async function settle(pieces: Piece[]) {
  for (let round = 0; round < 3; round++)
    for (const piece of pieces) for (const subscription of piece.subscriptions) await subscription.waitUntilCaughtUp();
}

const typesIn = async (streamName: string) => (await test.store.read(streamName)).map((message) => message.type);
const deliveriesOf = (emailId: string) =>
  smtpServer.received.filter((email) => email.header('message-id')?.startsWith(`<${emailId}@`));

describe(`registrations taken over from the book's system (${testDatabaseKind})`, () => {
  it('are completed once, whatever step of the registration e-mail the book had reached', async () => {
    const justRegistered = await bookRegistration(test.db, 'Registered');
    const emailAskedFor = await bookRegistration(test.db, 'Send');
    const emailSent = await bookRegistration(test.db, 'Sent');
    const emailRecorded = await bookRegistration(test.db, 'RegistrationEmailSent');

    const { identity, emails, pieces } = buildPieces();
    await Promise.all(pieces.map((piece) => piece.start()));
    try {
      await settle(pieces);
    } finally {
      await Promise.all(pieces.map((piece) => piece.stop()));
    }

    // Registered only: identity asks for the e-mail (with its confirmation link); it is sent and recorded.
    expect(await typesIn(identityStreamName(justRegistered.userId))).toEqual([
      'Registered',
      'EmailConfirmationRequested',
      'RegistrationEmailSent',
    ]);
    // The book had asked for it, or sent it: not asked for again, and recorded once.
    for (const user of [emailAskedFor, emailSent, emailRecorded])
      expect(await typesIn(identityStreamName(user.userId)), user.email).toEqual([
        'Registered',
        'RegistrationEmailSent',
      ]);
    for (const user of [justRegistered, emailAskedFor, emailSent, emailRecorded]) {
      expect(await typesIn(sendEmailCommandStreamName(user.emailId)), user.email).toEqual(['Send']);
      expect(await typesIn(sendEmailStreamName(user.emailId)), user.email).toEqual(['Sent']);
    }
    // Sent here only what the book had not sent.
    expect(deliveriesOf(justRegistered.emailId)).toHaveLength(1);
    expect(deliveriesOf(emailAskedFor.emailId)).toHaveLength(1);
    expect(deliveriesOf(emailSent.emailId)).toHaveLength(0);
    expect(deliveriesOf(emailRecorded.emailId)).toHaveLength(0);
    // The book's own Send, sent here: this system's Sent, with its sender and the book's origin.
    const [sentHere] = await test.store.read(sendEmailStreamName(emailAskedFor.emailId));
    expect(sentHere).toMatchObject({
      data: { emailId: emailAskedFor.emailId, from: systemSenderEmailAddress },
      metadata: { originStreamName: identityStreamName(emailAskedFor.userId) },
    });

    for (const piece of pieces)
      for (const subscription of piece.subscriptions) expect(await subscription.parkingLot.list()).toEqual([]);

    // The registration monitor: every registration's e-mail recorded as sent, none overdue even a day later.
    const { monitor } = buildPieces();
    expect(await monitor.flagOverdue(new Date(Date.now() + 86_400_000))).toBe(0);
    expect(await registrationMonitor.listOverdueRegistrations(test.db)).toEqual([]);

    // Handled again (a replay from the start, a second instance): nothing more is written or sent.
    const before = await everything(test.store);
    const deliveries = smtpServer.received.length;
    for (const message of await test.store.read(identityCategory)) {
      if (message.type !== 'Registered') continue;
      expect((await identity.handlers.events.Registered(message)).kind).toBe('nothing');
      expect((await identity.handlers.events.Registered(message)).kind).toBe('nothing');
    }
    for (const message of await test.store.read(sendEmailCategory)) {
      expect((await identity.handlers.sendEmailEvents.Sent(message)).kind).toBe('nothing');
      expect((await identity.handlers.sendEmailEvents.Sent(message)).kind).toBe('nothing');
    }
    for (const message of await test.store.read('sendEmail:command')) {
      await emails.handlers.Send(message);
      await emails.handlers.Send(message);
    }
    expect(await everything(test.store)).toEqual(before);
    expect(smtpServer.received).toHaveLength(deliveries);
  });
});

/** Every message but position records: what the pieces wrote. */
async function everything(store: MessageStore): Promise<string[]> {
  const messages: StoredMessage[] = await store.read('$all', { from: 0, max: 10_000 });
  return messages
    .filter((message) => !message.streamName.startsWith('subscriberPosition-'))
    .map((message) => `${message.streamName} ${message.type} ${message.id}`);
}
