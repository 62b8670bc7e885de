import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from '@vt/message-store';

/** The send-email component's messages (DESIGN.md §3). Requesters set `originStreamName` in metadata. */
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
