import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import { findCredentialsByEmail, sessionsEndedAt } from '../../aggregators/user-credentials/index.js';
import {
  AccountDeleted,
  identityCommandStreamName,
  identityStreamName,
  LoggedOutEverywhere,
  PasswordChanged,
} from '../../contracts/identity.js';
import type { SessionUser } from '../../web/server.js';

/** Identity's answers that end every session of the account started before them. */
const endsSessions = (answer: StoredMessage) =>
  PasswordChanged.is(answer) || LoggedOutEverywhere.is(answer) || AccountDeleted.is(answer);

/**
 * Writes identity commands for the account's own pages and waits (`waitMs` at most) for identity's answer
 * in the identity stream — and, for an answer that ends the account's sessions, until `user_credentials` has
 * applied it, so that from then on every session started before it is over at its very next request.
 * `null`: not in time.
 */
export function identityAnswers({
  store,
  viewData,
  waitMs,
}: {
  store: MessageStore;
  viewData: Queryable;
  waitMs: number;
}) {
  return async function decided(userId: string, command: Message): Promise<StoredMessage | null> {
    const streamName = identityStreamName(userId);
    const from = (await store.streamVersion(streamName)) + 1;
    const { position } = await store.write(identityCommandStreamName(userId), command);
    const deadline = Date.now() + waitMs;
    for (;;) {
      const answer = (await store.read(streamName, { from: from })).find(
        (event) =>
          event.metadata.causationMessageStreamName === identityCommandStreamName(userId) &&
          event.metadata.causationMessagePosition === position,
      );
      if (answer) {
        if (!endsSessions(answer)) return answer;
        for (;;) {
          const endedAt = await sessionsEndedAt(viewData, userId);
          if (endedAt && endedAt.getTime() >= answer.time.getTime()) return answer;
          if (Date.now() > deadline) return null;
          await sleep(25);
        }
      }
      if (Date.now() > deadline) return null;
      await sleep(25);
    }
  };
}

/** Whether `password` is the signed-in user's current one (from `user_credentials`). */
export async function isCurrentPassword(
  viewData: Queryable,
  verifyPassword: (passwordHash: string, password: string) => Promise<boolean>,
  { userId, email }: SessionUser,
  password: string,
): Promise<boolean> {
  const account = await findCredentialsByEmail(viewData, email);
  return account !== null && account.id === userId && (await verifyPassword(account.passwordHash, password));
}
