import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageStore, type Logger, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { sendEmailStreamName } from '../../contracts/send-email.js';
import {
  exampleEmail,
  exampleOriginMetadata,
  recordingLogger,
  requestEmail,
  startTestSmtpServer,
  systemSenderEmailAddress,
  type TestSmtpServer,
} from './controls.js';
import { build } from './index.js';
import { createEmailTransport, type EmailTransport } from './transport.js';

let testDatabase: TestDatabase;
let messageStore: MessageStore;
let smtpServer: TestSmtpServer;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  messageStore = createMessageStore({ db: testDatabase.db });
  smtpServer = await startTestSmtpServer();
});
afterAll(async () => {
  await smtpServer.close();
  await testDatabase.drop();
});

function sendEmail(overrides: { transport?: EmailTransport; store?: MessageStore; logger?: Logger } = {}) {
  return build({
    ...(overrides.logger ? { logger: overrides.logger } : {}),
    messageStore: overrides.store ?? messageStore,
    transport: overrides.transport ?? createEmailTransport({ smtpUrl: smtpServer.url }),
    systemSenderEmailAddress,
    maxAttempts: 3,
    retryDelayMs: 10,
  });
}

const emailEvents = (emailId: string) => messageStore.read(sendEmailStreamName(emailId));
const deliveriesOf = (emailId: string) =>
  smtpServer.received.filter((email) => email.header('message-id')?.startsWith(`<${emailId}@`));

describe('handling Send', () => {
  it('delivers the e-mail and records Sent, once', async () => {
    const email = exampleEmail();
    const command = await requestEmail(messageStore, email);
    const { handlers } = sendEmail();

    await handlers.Send(command);
    await handlers.Send(command);

    const events = await emailEvents(email.emailId);
    expect(events.map((event) => event.type)).toEqual(['Sent']);
    expect(events[0]?.data).toEqual({ ...email, from: systemSenderEmailAddress });
    const deliveries = deliveriesOf(email.emailId);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]?.envelopeTo).toEqual([email.to]);
    expect(deliveries[0]?.header('subject')).toBe(email.subject);
    expect(deliveries[0]?.raw).toContain(email.text);
  });

  it('copies the origin, trace and user onto Sent and records the Send as its cause', async () => {
    const metadata = exampleOriginMetadata();
    const command = await requestEmail(messageStore, exampleEmail(), metadata);
    const { handlers } = sendEmail();

    await handlers.Send(command);
    await handlers.Send(command);

    const [sent, ...others] = await emailEvents(String(command.data.emailId));
    expect(others).toEqual([]);
    expect(sent?.metadata).toMatchObject({
      originStreamName: metadata.originStreamName,
      correlationStreamName: metadata.originStreamName,
      traceId: metadata.traceId,
      userId: metadata.userId,
      causationMessageStreamName: command.streamName,
      causationMessagePosition: command.position,
      causationMessageGlobalPosition: command.globalPosition,
    });
    expect(deliveriesOf(String(command.data.emailId))).toHaveLength(1);
  });

  it('sends nothing for a second Send of an e-mail already sent', async () => {
    const email = exampleEmail();
    const first = await requestEmail(messageStore, email);
    const second = await requestEmail(messageStore, email);
    const { handlers } = sendEmail();

    await handlers.Send(first);
    await handlers.Send(second);
    await handlers.Send(second);

    expect((await emailEvents(email.emailId)).map((event) => event.type)).toEqual(['Sent']);
    expect(deliveriesOf(email.emailId)).toHaveLength(1);
  });

  it('retries a refused e-mail maxAttempts times, then records Failed with the reason, once', async () => {
    const refusing = await startTestSmtpServer({ rejectRecipientsWith: 'Mailbox unavailable' });
    try {
      const email = exampleEmail();
      const metadata = exampleOriginMetadata();
      const command = await requestEmail(messageStore, email, metadata);
      const { handlers } = sendEmail({ transport: createEmailTransport({ smtpUrl: refusing.url }) });

      await handlers.Send(command);
      await handlers.Send(command);

      expect(refusing.recipientAttempts).toBe(3);
      const events = await emailEvents(email.emailId);
      expect(events.map((event) => event.type)).toEqual(['Failed']);
      expect(events[0]?.data).toMatchObject({ ...email, from: systemSenderEmailAddress });
      expect(events[0]?.data.reason).toMatch(/Mailbox unavailable.*after 3 attempts/);
      expect(events[0]?.metadata.originStreamName).toBe(metadata.originStreamName);
      expect(refusing.received).toEqual([]);
    } finally {
      await refusing.close();
    }
  });
});

describe('two instances of send-email', () => {
  it('record exactly one Sent when they handle the same Send at the same time', async () => {
    const email = exampleEmail();
    const command = await requestEmail(messageStore, email);
    // On PostgreSQL the second instance has its own connections, as another process would.
    const otherStore = testDatabase.connectionString
      ? createMessageStore({ db: testDatabase.connectAgain() })
      : messageStore;
    const one = sendEmail();
    const other = sendEmail({ store: otherStore });

    await Promise.all([one.handlers.Send(command), other.handlers.Send(command)]);
    const deliveredAtOnce = deliveriesOf(email.emailId).length;
    await Promise.all([one.handlers.Send(command), other.handlers.Send(command)]);

    expect((await emailEvents(email.emailId)).map((event) => event.type)).toEqual(['Sent']);
    // Both may have delivered before either recorded it (see contract.md); after that, nobody delivers again.
    expect(deliveredAtOnce).toBeGreaterThanOrEqual(1);
    expect(deliveredAtOnce).toBeLessThanOrEqual(2);
    expect(deliveriesOf(email.emailId)).toHaveLength(deliveredAtOnce);
  });

  it('take the other instance’s outcome when it was recorded while this one was sending', async () => {
    const email = exampleEmail();
    const first = await requestEmail(messageStore, email);
    const second = await requestEmail(messageStore, email);
    const one = sendEmail();
    const smtp = createEmailTransport({ smtpUrl: smtpServer.url });
    let firstHandled: Promise<void> | undefined;
    const logger = recordingLogger();
    const other = sendEmail({
      logger,
      transport: {
        async send(outgoing) {
          firstHandled ??= one.handlers.Send(first);
          await firstHandled;
          await smtp.send(outgoing);
        },
      },
    });

    await other.handlers.Send(second);
    await other.handlers.Send(second);

    const events = await emailEvents(email.emailId);
    expect(events.map((event) => event.type)).toEqual(['Sent']);
    expect(events[0]?.metadata.causationMessageGlobalPosition).toBe(first.globalPosition);
    expect(logger.messages).toEqual([
      'another instance recorded this e-mail first',
      'e-mail already settled; nothing to do',
    ]);
    // Both delivered: the window contract.md describes, made certain here.
    expect(deliveriesOf(email.emailId)).toHaveLength(2);
  });
});
