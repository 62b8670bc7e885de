import type { Database, Row } from './database/port.js';
import type { StoredMessage } from './message.js';
import { MESSAGE_COLUMNS, toStoredMessage, type MessageRow } from './store.js';

/**
 * Reads `$all` in an order that never skips a message.
 *
 * Message DB orders commits only within a category: a transaction can hold
 * global position 10 uncommitted while position 11, in another category, is
 * already visible. Reading past 11 would lose 10 for good. So a gap in the
 * positions read stops the batch there, until every transaction that was then
 * writing to `messages` — in this database only; they hold its
 * RowExclusiveLock until they end — has committed or rolled back. Whatever is
 * still missing then (a rolled-back write) is a hole for good and is passed.
 */
export interface AllStreamReader {
  read(fromPosition: number, maxMessages: number): Promise<{ messages: StoredMessage[]; complete: boolean }>;
}

const WRITERS = `
  SELECT virtualtransaction FROM pg_locks
   WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
     AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND relation = 'message_store.messages'::regclass
     AND pid <> pg_backend_pid()`;

export function readAllInCommitOrder(db: Database): AllStreamReader {
  // A gap seen at `from`, up to `until`, and the transactions that were writing messages then.
  let pendingGap: { from: number; until: number; writers: string[] } | null = null;

  return {
    async read(fromPosition, maxMessages) {
      const rows = await db.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM message_store.messages WHERE global_position >= $1 ORDER BY global_position LIMIT $2`,
        [fromPosition, maxMessages],
      );
      let acceptedUpTo = fromPosition - 1;
      if (pendingGap && (await writersEnded(db, pendingGap.writers))) {
        acceptedUpTo = Math.max(acceptedUpTo, pendingGap.until - 1);
        pendingGap = null;
      }
      const messages: StoredMessage[] = [];
      let expected = fromPosition;
      for (const row of rows) {
        const message = toStoredMessage(row);
        if (message.globalPosition > expected && message.globalPosition - 1 > acceptedUpTo) {
          // Taken after the read: a writer that could still fill the gap holds its lock now.
          pendingGap ??= { from: expected, until: message.globalPosition, writers: await currentWriters(db) };
          return { messages, complete: false };
        }
        messages.push(message);
        expected = message.globalPosition + 1;
      }
      return { messages, complete: true };
    },
  };
}

async function currentWriters(db: Database): Promise<string[]> {
  const rows = await db.query<Row & { virtualtransaction: string }>(WRITERS);
  return rows.map((row) => row.virtualtransaction);
}

async function writersEnded(db: Database, writers: string[]): Promise<boolean> {
  if (writers.length === 0) return true;
  const [row] = await db.query<Row & { writing: boolean }>(
    `SELECT EXISTS (${WRITERS} AND virtualtransaction = ANY($1::text[])) AS writing`,
    [writers],
  );
  return row?.writing === false;
}
