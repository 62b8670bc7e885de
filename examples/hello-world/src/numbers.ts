import { defineMessage, type MessageStore } from 'message-db-toolkit';
import { z } from 'zod';

/** The shared log: every number ever written, in order, in one stream of the `numbers` category. */
export const NUMBERS_CATEGORY = 'numbers';
export const NUMBERS_LOG = `${NUMBERS_CATEGORY}-log`;

/** The largest number accepted: keeps each step of the product exact (see the README). */
export const LARGEST_NUMBER = 1_000_000;

/** A number was written to the log: the only event of this example. */
export const NumberWritten = defineMessage(
  'NumberWritten',
  z.object({ number: z.number().int().min(1).max(LARGEST_NUMBER) }),
);

/** Appends `number` to the log (validated: an invalid number throws `InvalidMessageError`). */
export async function writeNumber(store: MessageStore, number: number): Promise<void> {
  await store.write(NUMBERS_LOG, NumberWritten.create({ number }));
}
