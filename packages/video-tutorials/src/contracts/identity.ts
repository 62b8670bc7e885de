import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from 'message-db-toolkit';
import { v5 as uuidV5 } from 'uuid';

/** The identity component's messages (compatible with the book's; see docs/architecture.md, "Messages"). */
export const identityCategory = 'identity';
export const identityStreamName = (userId: string) => streamName(identityCategory, userId);
export const identityCommandStreamName = (userId: string) => commandStreamName(identityCategory, userId);

/**
 * One identity per e-mail address: before `Registered`, identity reserves the address in the stream named
 * after it, `identityEmail-{uuidv5(lower-cased address)}`, with an expected-version write (-1). The first
 * `EmailReserved` holds the address; every later registration of it is rejected.
 */
export const identityEmailCategory = 'identityEmail';
const EMAIL_RESERVATION_NAMESPACE = '5f0c1d0e-8a43-4c39-9a51-2f9a8f4f3b6e';
export const emailKey = (email: string) => email.trim().toLowerCase();
export const identityEmailStreamName = (email: string) =>
  streamName(identityEmailCategory, uuidV5(emailKey(email), EMAIL_RESERVATION_NAMESPACE));

/**
 * The name a user may give at registration (optional; the book's registrations have none): what the welcome
 * e-mail greets. At most `DISPLAY_NAME_MAX` characters, no control characters.
 */
export const DISPLAY_NAME_MAX = 80;
export const displayName = z
  .string()
  .min(1)
  .max(DISPLAY_NAME_MAX)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f-\u009f]+$/);
const registration = {
  userId: z.uuid(),
  email: z.string().min(1),
  passwordHash: z.string().min(1),
  displayName: displayName.optional(),
};

export const Register = defineMessage('Register', z.object(registration));
export const Registered = defineMessage('Registered', z.object(registration));
export const RegistrationRejected = defineMessage(
  'RegistrationRejected',
  z.object({ ...registration, reason: z.string().min(1) }),
);
export const RegistrationEmailSent = defineMessage(
  'RegistrationEmailSent',
  z.object({ userId: z.uuid(), emailId: z.uuid() }),
);
/** The book's chapter 8 exercise: too many failed log-ins within a window. */
/**
 * Locks are temporary: `lockedUntil` (absent in the book's events: until unlocked). `unlockTokenHash`: the SHA-256
 * of the token in the unlock link e-mailed to the owner.
 */
export const AccountLocked = defineMessage(
  'AccountLocked',
  z.object({
    userId: z.uuid(),
    reason: z.string().min(1),
    failedLoginCount: z.number().int(),
    lockedUntil: z.iso.datetime().optional(),
    unlockTokenHash: z.string().length(64).optional(),
  }),
);
export const EmailReserved = defineMessage('EmailReserved', z.object({ userId: z.uuid(), email: z.string().min(1) }));
/**
 * Confirming the address: identity sends a link with a one-time token (only its SHA-256 is kept in the
 * identity stream), valid until `expiresAt`; `ConfirmEmail` with that token → `EmailConfirmed`.
 */
export const EmailConfirmationRequested = defineMessage(
  'EmailConfirmationRequested',
  z.object({
    userId: z.uuid(),
    email: z.string().min(1),
    emailId: z.uuid(),
    tokenHash: z.string().length(64),
    expiresAt: z.iso.datetime(),
  }),
);
export const RequestEmailConfirmation = defineMessage('RequestEmailConfirmation', z.object({ userId: z.uuid() }));
export const ConfirmEmail = defineMessage(
  'ConfirmEmail',
  z.object({ userId: z.uuid(), token: z.string().min(1).max(200) }),
);
export const EmailConfirmed = defineMessage('EmailConfirmed', z.object({ userId: z.uuid(), email: z.string().min(1) }));
export const EmailConfirmationRejected = defineMessage(
  'EmailConfirmationRejected',
  z.object({ userId: z.uuid(), reason: z.string().min(1) }),
);
/** By an admin (no token), or by the owner with the token of the link e-mailed at the lock. */
export const UnlockAccount = defineMessage(
  'UnlockAccount',
  z.object({ userId: z.uuid(), token: z.string().min(1).max(200).optional() }),
);
export const AccountUnlocked = defineMessage('AccountUnlocked', z.object({ userId: z.uuid() }));
/**
 * Resetting a forgotten password: identity e-mails a link with a one-time token (only its SHA-256 is kept, and
 * a newer request replaces it), valid until `expiresAt`; `ResetPassword` with that token → `PasswordChanged`.
 * `ChangePassword` comes from the account page once the application has verified the current password.
 * `PasswordChanged` carries the new hash (as `Registered` does) and ends every session started before it.
 */
export const RequestPasswordReset = defineMessage('RequestPasswordReset', z.object({ userId: z.uuid() }));
export const PasswordResetRequested = defineMessage(
  'PasswordResetRequested',
  z.object({
    userId: z.uuid(),
    emailId: z.uuid(),
    tokenHash: z.string().length(64),
    expiresAt: z.iso.datetime(),
  }),
);
export const ResetPassword = defineMessage(
  'ResetPassword',
  z.object({ userId: z.uuid(), token: z.string().min(1).max(200), passwordHash: z.string().min(1).max(500) }),
);
export const PasswordResetRejected = defineMessage(
  'PasswordResetRejected',
  z.object({ userId: z.uuid(), reason: z.string().min(1) }),
);
export const ChangePassword = defineMessage(
  'ChangePassword',
  z.object({ userId: z.uuid(), currentPasswordVerified: z.literal(true), passwordHash: z.string().min(1).max(500) }),
);
export const PasswordChanged = defineMessage(
  'PasswordChanged',
  z.object({ userId: z.uuid(), passwordHash: z.string().min(1), reason: z.enum(['reset', 'change']) }),
);

/**
 * The account page. `LogOutEverywhere` ends every session of the account, this browser's too (as a password
 * change does). `DeleteAccount` is written once the application has verified the password: `AccountDeleted`
 * ends the sessions, takes the credentials away and releases the address (`EmailReleased` in its
 * `identityEmail-{…}` stream), which may then be registered again — as a new account.
 */
export const LogOutEverywhere = defineMessage('LogOutEverywhere', z.object({ userId: z.uuid() }));
export const LoggedOutEverywhere = defineMessage('LoggedOutEverywhere', z.object({ userId: z.uuid() }));
export const DeleteAccount = defineMessage(
  'DeleteAccount',
  z.object({ userId: z.uuid(), currentPasswordVerified: z.literal(true) }),
);
export const AccountDeleted = defineMessage('AccountDeleted', z.object({ userId: z.uuid() }));
export const EmailReleased = defineMessage('EmailReleased', z.object({ userId: z.uuid() }));

export type Register = MessageOf<typeof Register>;
export type Registered = MessageOf<typeof Registered>;
export type RegistrationRejected = MessageOf<typeof RegistrationRejected>;
export type RegistrationEmailSent = MessageOf<typeof RegistrationEmailSent>;
export type AccountLocked = MessageOf<typeof AccountLocked>;
export type EmailReserved = MessageOf<typeof EmailReserved>;
export type EmailConfirmationRequested = MessageOf<typeof EmailConfirmationRequested>;
export type RequestEmailConfirmation = MessageOf<typeof RequestEmailConfirmation>;
export type ConfirmEmail = MessageOf<typeof ConfirmEmail>;
export type EmailConfirmed = MessageOf<typeof EmailConfirmed>;
export type EmailConfirmationRejected = MessageOf<typeof EmailConfirmationRejected>;
export type UnlockAccount = MessageOf<typeof UnlockAccount>;
export type AccountUnlocked = MessageOf<typeof AccountUnlocked>;
export type RequestPasswordReset = MessageOf<typeof RequestPasswordReset>;
export type PasswordResetRequested = MessageOf<typeof PasswordResetRequested>;
export type ResetPassword = MessageOf<typeof ResetPassword>;
export type PasswordResetRejected = MessageOf<typeof PasswordResetRejected>;
export type ChangePassword = MessageOf<typeof ChangePassword>;
export type PasswordChanged = MessageOf<typeof PasswordChanged>;
export type LogOutEverywhere = MessageOf<typeof LogOutEverywhere>;
export type LoggedOutEverywhere = MessageOf<typeof LoggedOutEverywhere>;
export type DeleteAccount = MessageOf<typeof DeleteAccount>;
export type AccountDeleted = MessageOf<typeof AccountDeleted>;
export type EmailReleased = MessageOf<typeof EmailReleased>;
