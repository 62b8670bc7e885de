import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  exampleEmail,
  receivedEmail,
  startTestSmtpServer,
  systemSenderEmailAddress,
  type TestSmtpServer,
} from './controls.js';
import { createEmailTransport, type OutgoingEmail } from './transport.js';

function outgoingEmail(): OutgoingEmail & { messageId: string } {
  const { emailId, ...email } = exampleEmail();
  return { ...email, from: systemSenderEmailAddress, messageId: emailId };
}

describe('the file transport', () => {
  let emailDirectory: string;
  beforeAll(async () => {
    emailDirectory = path.join(await mkdtemp(path.join(tmpdir(), 'send-email-')), 'not-yet-made');
  });
  afterAll(() => rm(path.dirname(emailDirectory), { recursive: true, force: true }));

  it('writes the e-mail as <messageId>.eml, and a re-send replaces that file', async () => {
    const transport = createEmailTransport({ emailDirectory });
    const email = outgoingEmail();

    await transport.send(email);
    await transport.send(email);

    expect(await readdir(emailDirectory)).toEqual([`${email.messageId}.eml`]);
    const written = receivedEmail([], await readFile(path.join(emailDirectory, `${email.messageId}.eml`)));
    expect(written.header('to')).toBe(email.to);
    expect(written.header('from')).toBe(systemSenderEmailAddress);
    expect(written.header('subject')).toBe(email.subject);
    expect(written.header('message-id')).toBe(`<${email.messageId}@video-tutorials.example>`);
    expect(written.raw).toContain(email.text);
    expect(written.raw).toContain(email.html);
  });

  it('refuses a messageId that is not a plain file name', async () => {
    const transport = createEmailTransport({ emailDirectory });
    await expect(transport.send({ ...outgoingEmail(), messageId: '../outside' })).rejects.toThrow(/file name/);
  });
});

describe('the SMTP transport', () => {
  let smtpServer: TestSmtpServer;
  beforeAll(async () => {
    smtpServer = await startTestSmtpServer();
  });
  afterAll(() => smtpServer.close());

  it('delivers the e-mail to the SMTP server of the URL, logging in with its credentials', async () => {
    const email = outgoingEmail();

    await createEmailTransport({ smtpUrl: smtpServer.url }).send(email);

    expect(smtpServer.received).toHaveLength(1);
    const [received] = smtpServer.received;
    expect(received?.envelopeTo).toEqual([email.to]);
    expect(received?.header('subject')).toBe(email.subject);
    expect(received?.header('message-id')).toBe(`<${email.messageId}@video-tutorials.example>`);
    expect(received?.raw).toContain(email.text);
  });

  it('rejects when the server refuses the recipient', async () => {
    const refusing = await startTestSmtpServer({ rejectRecipientsWith: 'No such mailbox' });
    try {
      await expect(createEmailTransport({ smtpUrl: refusing.url }).send(outgoingEmail())).rejects.toThrow(
        /No such mailbox/,
      );
    } finally {
      await refusing.close();
    }
  });

  it('refuses a URL that is not smtp:// or smtps://, without printing it', () => {
    expect(() => createEmailTransport({ smtpUrl: 'http://user:hunter2@mail.example' })).toThrow(/smtp:\/\//);
    expect(() => createEmailTransport({ smtpUrl: 'http://user:hunter2@mail.example' })).not.toThrow(/hunter2/);
    expect(() => createEmailTransport({ smtpUrl: 'not a url' })).toThrow(/value not shown/);
  });
});
