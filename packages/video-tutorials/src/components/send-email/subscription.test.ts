import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMessageStore, type MessageStore } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { sendEmailStreamName } from '../../contracts/send-email.js';
import {
  exampleEmail,
  requestEmail,
  startTestSmtpServer,
  systemSenderEmailAddress,
  type TestSmtpServer,
} from './controls.js';
import { build } from './index.js';
import { createEmailTransport } from './transport.js';

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

it('parks a malformed Send and goes on sending the e-mails after it, once each', async () => {
  const malformed = await requestEmail(messageStore, exampleEmail({ to: 'not an e-mail address' }));
  const wellFormed = exampleEmail();
  const wellFormedCommand = await requestEmail(messageStore, wellFormed);
  const sendEmail = build({
    messageStore,
    transport: createEmailTransport({ smtpUrl: smtpServer.url }),
    systemSenderEmailAddress,
  });
  const [subscription] = sendEmail.subscriptions;
  if (!subscription) throw new Error('send-email runs one subscription');

  await sendEmail.start();
  try {
    await subscription.waitUntilCaughtUp();
    await sendEmail.handlers.Send(wellFormedCommand);

    const parked = await subscription.parkingLot.list();
    expect(parked).toHaveLength(1);
    expect(parked[0]).toMatchObject({ messageId: malformed.id, subscriberId: 'vt:send-email', attempts: 1 });
    expect(parked[0]?.error).toMatch(/InvalidMessageError.*to/);
    expect(await messageStore.read(sendEmailStreamName(String(malformed.data.emailId)))).toEqual([]);
    expect((await messageStore.read(sendEmailStreamName(wellFormed.emailId))).map((event) => event.type)).toEqual([
      'Sent',
    ]);
    expect(smtpServer.received.map((email) => email.envelopeTo)).toEqual([[wellFormed.to]]);
  } finally {
    await sendEmail.stop();
  }
});
