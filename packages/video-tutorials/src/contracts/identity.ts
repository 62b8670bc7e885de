import { z } from 'zod';
import { commandStreamName, defineMessage, streamName, type MessageOf } from '@vt/message-store';

/** The identity component's messages (DESIGN.md §3; compatible with the book's). */
export const identityCategory = 'identity';
export const identityStreamName = (userId: string) => streamName(identityCategory, userId);
export const identityCommandStreamName = (userId: string) => commandStreamName(identityCategory, userId);

const registration = { userId: z.uuid(), email: z.string().min(1), passwordHash: z.string().min(1) };

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
export const AccountLocked = defineMessage(
  'AccountLocked',
  z.object({ userId: z.uuid(), reason: z.string().min(1), failedLoginCount: z.number().int() }),
);
export const UnlockAccount = defineMessage('UnlockAccount', z.object({ userId: z.uuid() }));
export const AccountUnlocked = defineMessage('AccountUnlocked', z.object({ userId: z.uuid() }));

export type Register = MessageOf<typeof Register>;
export type Registered = MessageOf<typeof Registered>;
export type RegistrationRejected = MessageOf<typeof RegistrationRejected>;
export type RegistrationEmailSent = MessageOf<typeof RegistrationEmailSent>;
export type AccountLocked = MessageOf<typeof AccountLocked>;
export type UnlockAccount = MessageOf<typeof UnlockAccount>;
export type AccountUnlocked = MessageOf<typeof AccountUnlocked>;
