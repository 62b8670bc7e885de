import type { StoredMessage } from './message.js';
import { DEFAULT_BATCH_SIZE, type MessageStore } from './store.js';

/** The global position a consumer's `Read` record holds, or null when it holds none. */
export function recordedPosition(record: StoredMessage): number | null {
  if (record.type !== 'Read') return null;
  const { position } = record.data;
  const value = typeof position === 'string' && /^\d+$/.test(position) ? Number(position) : position;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/**
 * The position last recorded in a consumer's position stream (0 when none). Anyone can write to that
 * stream: when its last message holds no position, the stream is read from the start for the last one
 * that does, so a stray record neither stops the consumer nor sends it back to the beginning.
 */
export async function lastRecordedPosition(store: MessageStore, positionStream: string): Promise<number> {
  const last = await store.readLastMessage(positionStream);
  if (!last) return 0;
  const position = recordedPosition(last);
  if (position !== null) return position;
  let found = 0;
  for (let from = 0; ;) {
    const records = await store.read(positionStream, from, DEFAULT_BATCH_SIZE);
    for (const record of records) found = recordedPosition(record) ?? found;
    const next = records.at(-1);
    if (!next || records.length < DEFAULT_BATCH_SIZE) return found;
    from = next.position + 1;
  }
}
