import { defineProjection } from 'message-db-toolkit';

/** What send-email knows about one e-mail, projected from `sendEmail-{emailId}`. */
export interface Email {
  status: 'unsent' | 'sent' | 'failed';
}

// By type name: an outcome settles the e-mail whatever its data (the book's `Sent` has no `from`).
export const emailProjection = defineProjection<Email>(() => ({ status: 'unsent' }))
  .on('Sent', () => ({ status: 'sent' }))
  .on('Failed', () => ({ status: 'failed' }))
  .build();

/** Sent or failed, the e-mail is settled: handling its `Send` again changes nothing. */
export const isSettled = (email: Email) => email.status !== 'unsent';
