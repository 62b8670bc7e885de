import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf, type StoredMessage } from 'message-db-toolkit';

/**
 * The send-email component's messages (see docs/architecture.md, "Messages"). Requesters set `originStreamName` in
 * metadata.
 */
export const sendEmailCategory = 'sendEmail';
export const sendEmailStreamName = (emailId: string) => streamName(sendEmailCategory, emailId);
export const sendEmailCommandStreamName = (emailId: string) => commandStreamName(sendEmailCategory, emailId);

const email = {
  emailId: z.uuid(),
  to: z.email(),
  subject: z.string().min(1),
  text: z.string(),
  html: z.string(),
};

export const Send = defineMessage('Send', z.object(email));
export const Sent = defineMessage('Sent', z.object({ ...email, from: z.string().min(1) }));
export const Failed = defineMessage(
  'Failed',
  z.object({ ...email, from: z.string().min(1), reason: z.string().min(1) }),
);

export type Send = MessageOf<typeof Send>;
export type Sent = MessageOf<typeof Sent>;
export type Failed = MessageOf<typeof Failed>;

/**
 * The book's send-email writes `Sent` with its `Send`'s data as it was (no `from`), and only `originStreamName`
 * in its metadata. This system's writers always add Message DB's correlation (`correlationStreamName`), so a
 * `Sent` without one is the book's and is read as the book wrote it; this system's own are held to `Sent`.
 */
export const BookSent = defineMessage(
  'Sent',
  z.object({ emailId: z.uuid(), to: z.string(), subject: z.string(), text: z.string(), html: z.string() }),
);
export type BookSent = MessageOf<typeof BookSent>;

/** Written by the book's system: no correlation, which every writer of this system sets. */
export const writtenByTheBook = (message: StoredMessage) => message.metadata.correlationStreamName === undefined;

/** A `Sent` by this system's send-email (strictly) or by the book's (as it writes them). */
export const parseSent = (message: StoredMessage): Sent | BookSent =>
  writtenByTheBook(message) ? BookSent.parse(message) : Sent.parse(message);
