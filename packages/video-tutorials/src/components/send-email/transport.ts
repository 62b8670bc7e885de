import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';

/** One e-mail to deliver. */
export interface OutgoingEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  /**
   * Identifies the e-mail: sending it again is the same e-mail (the same
   * `Message-ID` header, the same `.eml` file).
   */
  messageId?: string;
}

export interface EmailTransport {
  /** Resolves once the e-mail is delivered; rejects with the reason when it is not. */
  send(email: OutgoingEmail): Promise<void>;
}

export type EmailTransportConfig =
  /** Writes each e-mail as `<messageId>.eml` into this directory (`EMAIL_DIRECTORY`). */
  | { emailDirectory: string }
  /** Delivers over SMTP: `smtp://user:password@host:587`, or `smtps://…` for TLS from the start. */
  | { smtpUrl: string };

export function createEmailTransport(config: EmailTransportConfig): EmailTransport {
  return 'smtpUrl' in config ? createSmtpTransport(config.smtpUrl) : createFileTransport(config.emailDirectory);
}

export function createFileTransport(directory: string): EmailTransport {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true });
  return {
    async send(email) {
      const fileName = `${fileSafeId(email.messageId ?? randomUUID())}.eml`;
      const { message } = await composer.sendMail(mailOptions(email));
      if (!Buffer.isBuffer(message)) throw new Error('The stream transport returned no buffer');
      await mkdir(directory, { recursive: true });
      // Written aside, then renamed: a reader never sees half an e-mail, and a re-send replaces the file whole.
      const partial = path.join(directory, `.${fileName}.${randomUUID()}.partial`);
      await writeFile(partial, message);
      await rename(partial, path.join(directory, fileName));
    },
  };
}

export function createSmtpTransport(smtpUrl: string): EmailTransport {
  checkSmtpUrl(smtpUrl);
  // nodemailer waits up to 10 minutes on a silent server by default; a consumer should not stall that long.
  const mailer = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(email) {
      const { rejected } = await mailer.sendMail(mailOptions(email));
      if (rejected.length > 0) throw new Error(`The SMTP server rejected ${rejected.join(', ')}`);
    },
  };
}

function mailOptions({ from, to, subject, text, html, messageId }: OutgoingEmail): SendMailOptions {
  return { from, to, subject, text, html, ...(messageId ? { messageId: messageIdHeader(messageId, from) } : {}) };
}

/** `<{messageId}@{sender's domain}>`, the form RFC 5322 asks of a Message-ID. */
function messageIdHeader(messageId: string, from: string): string {
  const domain = /@([^\s>]+)/.exec(from)?.[1] ?? 'video-tutorials.invalid';
  return `<${messageId}@${domain}>`;
}

function fileSafeId(messageId: string): string {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(messageId))
    throw new Error(`An e-mail's messageId must be usable as a file name, not ${JSON.stringify(messageId)}`);
  return messageId;
}

/** The URL holds a password: errors describe it, never print it. */
function checkSmtpUrl(smtpUrl: string) {
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new Error('The SMTP URL must look like smtp://user:password@host:587 (value not shown)');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:')
    throw new Error(`The SMTP URL must start with smtp:// or smtps://, not ${url.protocol}// (value not shown)`);
  if (!url.hostname) throw new Error('The SMTP URL names no host (value not shown)');
}
