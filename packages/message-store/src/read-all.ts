import type { Database, Row } from './database/port.js';
import type { StoredMessage } from './message.js';
import { MESSAGE_COLUMNS, toStoredMessage, type MessageRow } from './store.js';

/**
 * Reads `$all` in an order that never skips a message.
 *
 * Message DB orders commits only within a category: a transaction can hold
 * global position 10 uncommitted while position 11, in another category, is
 * already visible. Reading past 11 would lose 10 for good. So a gap in the
 * positions read stops the batch there, until every transaction that could
 * hold the missing positions has ended: the next read notes its snapshot's
 * xmax (by then such a writer has its xid, which is below it), and once a
 * read's snapshot xmin reaches that, whatever is still missing in the rows
 * read with that same snapshot was rolled back: a hole for good, passed.
 * Nothing is asked of the lock manager (pg_locks would stall the writers).
 */
export interface AllStreamReader {
  read(fromPosition: number, maxMessages: number): Promise<{ messages: StoredMessage[]; complete: boolean }>;
}

export function readAllInCommitOrder(db: Database): AllStreamReader {
  // A gap seen at `from`, up to `until`, and the xmax a later snapshot's xmin must reach.
  let pendingGap: { from: number; until: number; xmax: bigint | null } | null = null;

  return {
    async read(fromPosition, maxMessages) {
      // One statement: the snapshot's horizon and the rows it sees go together.
      const rows = await db.query<SnapshotRow>(
        `SELECT snapshot.xmin, snapshot.xmax, m.*
           FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                        pg_snapshot_xmax(pg_current_snapshot())::text AS xmax) AS snapshot
           LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM message_store.messages
                               WHERE global_position >= $1 ORDER BY global_position LIMIT $2) AS m ON true
          ORDER BY m.global_position`,
        [fromPosition, maxMessages],
      );
      const xmin = BigInt(rows[0]?.xmin ?? 0);
      const xmax = BigInt(rows[0]?.xmax ?? 0);
      let acceptedUpTo = fromPosition - 1;
      if (pendingGap) {
        if (pendingGap.xmax === null) pendingGap.xmax = xmax;
        else if (xmin >= pendingGap.xmax) {
          acceptedUpTo = Math.max(acceptedUpTo, pendingGap.until - 1);
          pendingGap = null;
        }
      }
      const messages: StoredMessage[] = [];
      let expected = fromPosition;
      for (const row of rows) {
        if (row.id === null) continue; // no messages: the snapshot row alone
        const message = toStoredMessage(row as MessageRow);
        if (message.globalPosition > expected && message.globalPosition - 1 > acceptedUpTo) {
          pendingGap ??= { from: expected, until: message.globalPosition, xmax: null };
          return { messages, complete: false };
        }
        messages.push(message);
        expected = message.globalPosition + 1;
      }
      return { messages, complete: true };
    },
  };
}

type SnapshotRow = Row & { xmin: string; xmax: string } & { [K in keyof MessageRow]: MessageRow[K] | null };
