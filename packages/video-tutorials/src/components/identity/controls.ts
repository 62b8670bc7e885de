/**
 * Controls, in Eventide's sense: the canonical example messages and entities the identity tests build from.
 */
import { randomUUID } from 'node:crypto';
import {
  reducerFor,
  type Message,
  type MessageMetadata,
  type MessageStore,
  type Projection,
  type StoredMessage,
} from '@vt/message-store';
import { UserLoggedIn, UserLoginFailed } from '../../contracts/authentication.js';
import {
  AccountLocked,
  identityStreamName,
  Register,
  Registered,
  RegistrationEmailSent,
  UnlockAccount,
} from '../../contracts/identity.js';
import { Sent } from '../../contracts/send-email.js';
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

/** A message as if read back from `streamName` (for pure tests of projections and decisions). */
export function stored<M extends Message>(
  message: M,
  streamName: string,
  position: number,
  time: Date = new Date('2026-01-01T12:00:00Z'),
): StoredMessage<M['type'], M['data']> {
  return {
    ...message,
    metadata: message.metadata ?? {},
    streamName,
    position,
    globalPosition: 1000 + position,
    time,
  };
}

/** Messages stored one after another in `streamName`, from position 0. */
export const storedStream = (streamName: string, messages: Message[]) =>
  messages.map((message, position) => stored(message, streamName, position));

/** The entity a projection folds from `events` (as `store.fetch` does). */
export function project<Entity>(projection: Projection<Entity>, events: StoredMessage[]): Entity {
  return events.reduce((entity, event) => {
    const reducer = reducerFor(projection, event.type);
    return reducer ? reducer(entity, event) : entity;
  }, projection.$init());
}

/** Writes `message` and reads it back as stored (a handler's input). */
export async function written<M extends Message>(
  store: MessageStore,
  streamName: string,
  message: M,
): Promise<StoredMessage> {
  const { position } = await store.write(streamName, message);
  const [read] = await store.read(streamName, position, 1);
  if (!read) throw new Error(`${message.type} written to ${streamName} could not be read back`);
  return read;
}
