import { z } from 'zod';
import { defineMessage, streamName, type MessageOf } from '@vt/message-store';

/** Written by the authenticate application (DESIGN.md §3). */
export const authenticationCategory = 'authentication';
export const authenticationStreamName = (userId: string) => streamName(authenticationCategory, userId);

export const UserLoggedIn = defineMessage('UserLoggedIn', z.object({ userId: z.uuid() }));
export const UserLoginFailed = defineMessage(
  'UserLoginFailed',
  z.object({ userId: z.uuid(), reason: z.string().min(1) }),
);

export type UserLoggedIn = MessageOf<typeof UserLoggedIn>;
export type UserLoginFailed = MessageOf<typeof UserLoginFailed>;
