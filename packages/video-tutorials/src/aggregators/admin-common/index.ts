import { category, type StoredMessage } from 'message-db-toolkit';

/** The category of every component's position stream (`subscriberPosition-{subscriberId}`). */
export const POSITION_CATEGORY = 'subscriberPosition';

export const isPositionMessage = (message: StoredMessage) => category(message.streamName) === POSITION_CATEGORY;

/** A message's time for a `timestamptz` parameter. */
export const timeOf = (message: StoredMessage) => message.time.toISOString();
