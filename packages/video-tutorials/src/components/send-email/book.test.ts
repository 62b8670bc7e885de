import { randomUUID } from 'node:crypto';
import { createMessageStore, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendEmailCommandStreamName, sendEmailStreamName } from '../../contracts/send-email.js';
import { writeAsTheBook } from '../identity/controls.js';
import { exampleEmail, startTestSmtpServer, systemSenderEmailAddress, type TestSmtpServer } from './controls.js';
import { build } from './index.js';
import { createEmailTransport } from './transport.js';

/**
 * The book's `Send` commands, exactly as its identity component writes them (`originStreamName`, `traceId`,
 * `userId`; no correlation), and its outcomes (`Sent` and `Failed` with the command's data, no `from`): what
 * the book sent or gave up on is not sent again; what it had not handled yet is sent once.
 */
let test: TestDatabase;
let store: MessageStore;
let smtpServer: TestSmtpServer;

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
  smtpServer = await startTestSmtpServer();
});
afterAll(async () => {
  await smtpServer.close();
  await test.drop();
});

const sendEmail = () =>
  build({
    messageStore: store,
    transport: createEmailTransport({ smtpUrl: smtpServer.url }),
    systemSenderEmailAddress,
    retryDelayMs: 10,
  });

const bookMetadata = () => {
  const userId = randomUUID();
  return { originStreamName: `identity-${userId}`, traceId: randomUUID(), userId };
};

/** The book's Send, written as the book writes it, read back as a handler gets it. */
async function bookSend(email = exampleEmail(), metadata = bookMetadata()): Promise<StoredMessage> {
  const streamName = sendEmailCommandStreamName(email.emailId);
  const id = await writeAsTheBook(test.db, streamName, { type: 'Send', data: email, metadata });
  const stored = (await store.read(streamName)).find((message) => message.id === id);
  if (!stored) throw new Error('the book’s Send cannot be read back');
  return stored;
}

const typesIn = async (streamName: string) => (await store.read(streamName)).map((message) => message.type);
const deliveriesOf = (emailId: string) =>
  smtpServer.received.filter((email) => email.header('message-id')?.startsWith(`<${emailId}@`));

describe(`the book's Send commands (${testDatabaseKind})`, () => {
  it('one the book had not handled is sent once, with this system’s Sent', async () => {
    const email = exampleEmail();
    const metadata = bookMetadata();
    const command = await bookSend(email, metadata);
    const { handlers } = sendEmail();

    await handlers.Send(command);
    await handlers.Send(command);

    const events = await store.read(sendEmailStreamName(email.emailId));
    expect(events.map((event) => event.type)).toEqual(['Sent']);
    expect(events[0]).toMatchObject({
      data: { ...email, from: systemSenderEmailAddress },
      metadata: {
        ...metadata,
        correlationStreamName: metadata.originStreamName,
        causationMessageStreamName: command.streamName,
      },
    });
    expect(deliveriesOf(email.emailId)).toHaveLength(1);
  });

  it('one the book sent, or gave up on, is not sent again', async () => {
    const { handlers } = sendEmail();
    for (const outcome of ['Sent', 'Failed'] as const) {
      const email = exampleEmail();
      const metadata = bookMetadata();
      const command = await bookSend(email, metadata);
      const data = outcome === 'Sent' ? email : { ...email, reason: 'Could not reach email provider' };
      await writeAsTheBook(test.db, sendEmailStreamName(email.emailId), { type: outcome, data, metadata });

      await handlers.Send(command);
      await handlers.Send(command);

      expect(await typesIn(sendEmailStreamName(email.emailId)), outcome).toEqual([outcome]);
      expect(deliveriesOf(email.emailId), outcome).toEqual([]);
    }
  });

  it('two of one e-mail (the book asked again on a replay) are sent once, through the subscription', async () => {
    const email = exampleEmail();
    const metadata = bookMetadata();
    await bookSend(email, metadata);
    await bookSend(email, metadata);
    const piece = sendEmail();
    await piece.start();
    try {
      for (const subscription of piece.subscriptions) await subscription.waitUntilCaughtUp();
      expect(await piece.subscriptions[0]!.parkingLot.list()).toEqual([]);
    } finally {
      await piece.stop();
    }
    expect(await typesIn(sendEmailStreamName(email.emailId))).toEqual(['Sent']);
    expect(deliveriesOf(email.emailId)).toHaveLength(1);
  });
});
