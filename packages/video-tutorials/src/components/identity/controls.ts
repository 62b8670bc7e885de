/**
 * Controls, in Eventide's sense: the canonical example messages and entities the identity tests build from.
 */
import { randomUUID } from 'node:crypto';
import { project, stored as storedMessage, storedStream, written } from 'message-db-toolkit/controls';
import { type Message, type MessageMetadata, type Queryable } from 'message-db-toolkit';
import { UserLoggedIn, UserLoginFailed } from '../../contracts/authentication.js';
import {
  AccountLocked,
  identityCommandStreamName,
  identityStreamName,
  Register,
  Registered,
  RegistrationEmailSent,
  UnlockAccount,
} from '../../contracts/identity.js';
import { Sent, sendEmailCommandStreamName, sendEmailStreamName } from '../../contracts/send-email.js';
import { registrationEmailId } from './ids.js';

export const examplePasswordHash = '$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy';

export function exampleUser(overrides: { userId?: string; email?: string } = {}) {
  const userId = overrides.userId ?? randomUUID();
  return { userId, email: overrides.email ?? `user-${userId.slice(0, 8)}@example.com` };
}

export const exampleMetadata = (overrides: MessageMetadata = {}): MessageMetadata => ({
  traceId: randomUUID(),
  ...overrides,
});

export function exampleRegister(user = exampleUser(), passwordHash = examplePasswordHash) {
  return Register.create({ ...user, passwordHash }, { metadata: exampleMetadata({ userId: user.userId }) });
}

export function exampleRegistered(user = exampleUser(), passwordHash = examplePasswordHash) {
  return Registered.create({ ...user, passwordHash }, { metadata: exampleMetadata({ userId: user.userId }) });
}

export function exampleRegistrationEmailSent(user = exampleUser()) {
  return RegistrationEmailSent.create({ userId: user.userId, emailId: registrationEmailId(user.email) });
}

/** A `Sent` as send-email writes it: the requester's `originStreamName` copied on. */
export function exampleSent(user = exampleUser(), originStreamName: string = identityStreamName(user.userId)) {
  return Sent.create(
    {
      emailId: registrationEmailId(user.email),
      to: user.email,
      from: 'video-tutorials@example.com',
      subject: 'Welcome to Video Tutorials',
      text: 'Hello',
      html: '<p>Hello</p>',
    },
    { metadata: exampleMetadata({ originStreamName }) },
  );
}

export const exampleUnlockAccount = (user = exampleUser()) =>
  UnlockAccount.create({ userId: user.userId }, { metadata: exampleMetadata({ userId: randomUUID() }) });

export const exampleUserLoginFailed = (user = exampleUser()) =>
  UserLoginFailed.create({ userId: user.userId, reason: 'wrong password' }, { metadata: exampleMetadata() });

export const exampleUserLoggedIn = (user = exampleUser()) =>
  UserLoggedIn.create({ userId: user.userId }, { metadata: exampleMetadata({ userId: user.userId }) });

export const exampleAccountLocked = (user = exampleUser(), failedLoginCount = 5) =>
  AccountLocked.create({ userId: user.userId, reason: 'too many failed log-ins', failedLoginCount });

/** A message as if read back from `streamName` (for pure tests of projections and decisions), at `time`. */
export const stored = <M extends Message>(message: M, streamName: string, position: number, time?: Date) =>
  storedMessage(message, streamName, position, time ? { time } : {});

export { project, storedStream, written };

/** A message as the book's JavaScript system writes it: `message_store.write_message` with its own metadata. */
export interface BookMessage {
  type: string;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

export async function writeAsTheBook(db: Queryable, streamName: string, message: BookMessage): Promise<string> {
  const id = randomUUID(); // the book gives every message a random id
  await db.query('SELECT message_store.write_message($1, $2, $3, $4, $5)', [
    id,
    streamName,
    message.type,
    JSON.stringify(message.data),
    JSON.stringify(message.metadata),
  ]);
  return id;
}

/** How far the book's system got with a registration before this system took over. */
export type BookRegistrationStep = 'Registered' | 'Send' | 'Sent' | 'RegistrationEmailSent';

/**
 * A registration as the book's register-users application, identity and send-email components write it, up to
 * `upTo`: `Register` {traceId, userId}, `Registered` (its metadata copied), identity's `Send` with
 * `originStreamName` and no correlation, send-email's `Sent` with the `Send`'s data as it was (no `from`), and
 * identity's `RegistrationEmailSent`.
 */
export async function bookRegistration(db: Queryable, upTo: BookRegistrationStep, user = exampleUser()) {
  const { userId, email } = user;
  const traceId = randomUUID();
  const emailId = registrationEmailId(email);
  const originStreamName = identityStreamName(userId);
  const registration = { userId, email, passwordHash: examplePasswordHash };
  const emailData = {
    emailId,
    to: email,
    subject: 'Welcome to Video Tutorials!',
    text: 'Thanks for registering for Video Tutorials.',
    html: '<p>Thanks for registering for Video Tutorials.</p>',
  };
  await writeAsTheBook(db, identityCommandStreamName(userId), {
    type: 'Register',
    data: registration,
    metadata: { traceId, userId },
  });
  await writeAsTheBook(db, identityStreamName(userId), {
    type: 'Registered',
    data: registration,
    metadata: { traceId, userId },
  });
  const steps: BookRegistrationStep[] = ['Registered', 'Send', 'Sent', 'RegistrationEmailSent'];
  const reached = (step: BookRegistrationStep) => steps.indexOf(upTo) >= steps.indexOf(step);
  const withOrigin = { originStreamName, traceId, userId };
  if (reached('Send'))
    await writeAsTheBook(db, sendEmailCommandStreamName(emailId), {
      type: 'Send',
      data: emailData,
      metadata: withOrigin,
    });
  if (reached('Sent'))
    await writeAsTheBook(db, sendEmailStreamName(emailId), { type: 'Sent', data: emailData, metadata: withOrigin });
  if (reached('RegistrationEmailSent'))
    await writeAsTheBook(db, originStreamName, {
      type: 'RegistrationEmailSent',
      data: { userId, emailId },
      metadata: { traceId, userId },
    });
  return { ...user, emailId };
}
