import { z } from 'zod';
import { defineMessage, streamName, type MessageOf } from 'message-db-toolkit';

/** Written by the authenticate application (see docs/architecture.md, "Messages"). */
export const authenticationCategory = 'authentication';
export const authenticationStreamName = (userId: string) => streamName(authenticationCategory, userId);

export const UserLoggedIn = defineMessage('UserLoggedIn', z.object({ userId: z.uuid() }));
export const UserLoginFailed = defineMessage(
  'UserLoginFailed',
  z.object({ userId: z.uuid(), reason: z.string().min(1) }),
);

export type UserLoggedIn = MessageOf<typeof UserLoggedIn>;
export type UserLoginFailed = MessageOf<typeof UserLoginFailed>;

/**
 * Sessions, written by the authenticate application to `session-{sessionId}`: the session cookie names only the
 * session (signed); whether it is still open is read from this stream on every request. `SessionRefreshed` marks
 * activity (written now and then, for the idle expiry).
 */
export const sessionCategory = 'session';
export const sessionStreamName = (sessionId: string) => streamName(sessionCategory, sessionId);

/**
 * `device`: what the account page lists the session as, a summary of the browser's User-Agent ("Firefox on
 * Linux"), never the header itself; absent in sessions started before it was recorded.
 */
export const SessionStarted = defineMessage(
  'SessionStarted',
  z.object({ sessionId: z.uuid(), userId: z.uuid(), email: z.string().min(1), device: z.string().max(60).optional() }),
);
/** `activeAt`: when the web process saw the session used (its clock), for the idle expiry. */
export const SessionRefreshed = defineMessage(
  'SessionRefreshed',
  z.object({ sessionId: z.uuid(), userId: z.uuid(), activeAt: z.iso.datetime() }),
);
export const SessionEnded = defineMessage(
  'SessionEnded',
  z.object({ sessionId: z.uuid(), userId: z.uuid(), reason: z.string().min(1) }),
);

export type SessionStarted = MessageOf<typeof SessionStarted>;
export type SessionRefreshed = MessageOf<typeof SessionRefreshed>;
export type SessionEnded = MessageOf<typeof SessionEnded>;
