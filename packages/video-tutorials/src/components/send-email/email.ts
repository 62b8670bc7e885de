import type { Projection } from 'message-db-toolkit';

/** What send-email knows about one e-mail, projected from `sendEmail-{emailId}`. */
export interface Email {
  status: 'unsent' | 'sent' | 'failed';
}

export const emailProjection: Projection<Email> = {
  $init: () => ({ status: 'unsent' }),
  Sent: () => ({ status: 'sent' }),
  Failed: () => ({ status: 'failed' }),
};

/** Sent or failed, the e-mail is settled: handling its `Send` again changes nothing. */
export const isSettled = (email: Email) => email.status !== 'unsent';
