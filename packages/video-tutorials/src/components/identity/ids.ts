import { v5 as uuidV5 } from 'uuid';
import type { StoredMessage } from 'message-db-toolkit';

/**
 * The namespace of registration `emailId`s: `emailId = uuidv5(email, REGISTRATION_EMAIL_NAMESPACE)`.
 *
 * It is the book's own `uuidv5Namespace` (chapter 9, `write-send-command.js`), so an address gets the same
 * `emailId` here as in a message store written by the book's JavaScript system. Never change it: the
 * `emailId` names the `sendEmail:command-{emailId}` and `sendEmail-{emailId}` streams, and a new namespace
 * would make every address look like one never e-mailed.
 */
export const REGISTRATION_EMAIL_NAMESPACE = '0c46e0b7-dfaf-443a-b150-053b67905cc2';

/**
 * The namespace of the `Send` commands' message ids: `id = uuidv5(registered.id, SEND_COMMAND_ID_NAMESPACE)`.
 * One `Registered` event always asks for its e-mail with the same message id, so handling it again (a replay,
 * a retry, a second instance) writes no second `Send`: the store recognizes an id it already holds.
 * Ours, not the book's (the book gave each `Send` a random id). Never change it either.
 */
export const SEND_COMMAND_ID_NAMESPACE = 'c692bd31-1786-48d7-9cb1-d17f11e968bb';

/** The `emailId` of the registration e-mail to `email`, exactly as written in `Registered` (no normalizing). */
export const registrationEmailId = (email: string): string => uuidV5(email, REGISTRATION_EMAIL_NAMESPACE);

/** The message id of the `Send` that asks for the registration e-mail of this `Registered` event. */
export const sendCommandIdFor = (registered: StoredMessage): string => uuidV5(registered.id, SEND_COMMAND_ID_NAMESPACE);

/** The namespace of `EmailReserved` message ids: one per command (or legacy `Registered`), so a retry writes none. */
export const RESERVATION_ID_NAMESPACE = 'a3d7f2e4-61b8-4f0d-9c2e-7b5a1e9d4c38';

export const reservationIdFor = (cause: StoredMessage): string => uuidV5(cause.id, RESERVATION_ID_NAMESPACE);
