import type { Database, Row } from './database/port.js';
import type { StoredMessage } from './message.js';
import { MESSAGE_COLUMNS, toStoredMessage, type MessageRow } from './store.js';

/**
 * Reads `$all` in an order that never skips a message.
 *
 * Message DB orders commits only within a category: a transaction can hold
 * global position 10 uncommitted while position 11, in another category, is
 * already visible. Reading past 11 would lose 10 for good. So a gap in the
 * positions read stops the batch there, until every transaction that was in
 * progress when the gap was seen has ended; then whatever still misses
 * (a rolled-back write) is a hole for good and is passed.
 */
export interface AllStreamReader {
  read(fromPosition: number, maxMessages: number): Promise<{ messages: StoredMessage[]; complete: boolean }>;
}

interface AllRow extends MessageRow {
  snapshot_xmax: string;
}

export function readAllInCommitOrder(db: Database): AllStreamReader {
  // A gap seen at `from`, up to `until`, and the transactions then in progress (all below `xmax`).
  let pendingGap: { from: number; until: number; xmax: bigint } | null = null;

  return {
    async read(fromPosition, maxMessages) {
      const rows = await db.query<AllRow>(
        `SELECT ${MESSAGE_COLUMNS}, pg_snapshot_xmax(pg_current_snapshot())::text AS snapshot_xmax
           FROM message_store.messages WHERE global_position >= $1 ORDER BY global_position LIMIT $2`,
        [fromPosition, maxMessages],
      );
      let acceptedUpTo = fromPosition - 1;
      if (pendingGap) {
        if (await transactionsEndedBelow(db, pendingGap.xmax)) {
          acceptedUpTo = Math.max(acceptedUpTo, pendingGap.until - 1);
          pendingGap = null;
        }
      }
      const messages: StoredMessage[] = [];
      let expected = fromPosition;
      for (const row of rows) {
        const message = toStoredMessage(row);
        if (message.globalPosition > expected && message.globalPosition - 1 > acceptedUpTo) {
          if (!pendingGap)
            pendingGap = { from: expected, until: message.globalPosition, xmax: BigInt(row.snapshot_xmax) };
          return { messages, complete: false };
        }
        messages.push(message);
        expected = message.globalPosition + 1;
      }
      return { messages, complete: true };
    },
  };
}

async function transactionsEndedBelow(db: Database, xmax: bigint): Promise<boolean> {
  const [row] = await db.query<Row & { xmin: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin');
  return BigInt(row?.xmin ?? '0') >= xmax;
}
