/**
 * Controls for tests of pages that name creators: a user registered (with a display name or without), then
 * perhaps deleted, written to the message store as identity writes it and applied by the user-credentials
 * aggregator.
 */
import { randomUUID } from 'node:crypto';
import type { Database, MessageStore, StoredMessage } from 'message-db-toolkit';
import { AccountDeleted, identityStreamName, Registered } from '../../contracts/identity.js';
import { applyIdentityEvents } from './index.js';

/** A display name a hostile user could give: markup, and a right-to-left override that is never closed. */
export const HOSTILE_DISPLAY_NAME = '<script>alert(1)</script> \u202eevil';

export async function registeredCreator(
  store: MessageStore,
  viewData: Database,
  { userId = randomUUID(), displayName }: { userId?: string; displayName?: string } = {},
) {
  const stream = identityStreamName(userId);
  const email = `creator-${userId}@example.com`;
  const data = { userId, email, passwordHash: 'hash', ...(displayName === undefined ? {} : { displayName }) };
  const apply = async (message: Parameters<MessageStore['write']>[1]): Promise<StoredMessage> => {
    const { position } = await store.write(stream, message);
    const [stored] = await store.read(stream, { from: position, max: 1 });
    await viewData.transaction((tx) => applyIdentityEvents([stored!], tx));
    return stored!;
  };
  await apply(Registered.create(data));
  return { userId, email, deleteAccount: () => apply(AccountDeleted.create({ userId })) };
}
