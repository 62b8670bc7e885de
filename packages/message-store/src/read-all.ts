import type { Database, Row } from './database/port.js';
import { noticeGap, rolledBackGaps, type Gap } from './gaps.js';
import type { StoredMessage } from './message.js';
import { databaseOf, MESSAGE_COLUMNS, toStoredMessage, type MessageRow, type MessageStore } from './store.js';

/**
 * Reads `$all` in an order that never skips a message.
 *
 * Message DB orders commits only within a category: a transaction can hold
 * global position 10 uncommitted while position 11, in another category, is
 * already visible. Reading past 11 would lose 10 for good. So a gap in the
 * positions read stops the batch there until its row appears, or its writer
 * is known to have rolled back (see gaps.ts): then it is a hole for good, passed.
 */
export interface AllStreamReader {
  /**
   * With `beginNow`, the read begins now, in this call: it is not answered by a read another consumer began
   * earlier, nor by what one read (for someone who waits until everything committed before now is handled).
   */
  read(
    fromPosition: number,
    maxMessages: number,
    options?: { beginNow?: boolean },
  ): Promise<{ messages: StoredMessage[]; complete: boolean }>;
}

/** `$all` in commit order, from a store's database or from a handle given (e.g. one whose reads run in a transaction). */
export function readAllInCommitOrder(source: Database | MessageStore): AllStreamReader {
  const db = 'fetch' in source ? databaseOf(source) : source;
  // A gap seen at `from`, up to `until` (the next position that was visible).
  let pendingGap: { from: number; until: number; gap: Gap } | null = null;

  return {
    async read(fromPosition, maxMessages) {
      // One statement: the snapshot's horizon and the rows it sees go together.
      const rows = await db.query<SnapshotRow>(
        `SELECT snapshot.xmin, snapshot.xmax, snapshot.read_at, m.*
           FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                        pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
                        clock_timestamp()::text AS read_at) AS snapshot
           LEFT JOIN LATERAL (SELECT ${MESSAGE_COLUMNS} FROM message_store.messages
                               WHERE global_position >= $1 ORDER BY global_position LIMIT $2) AS m ON true
          ORDER BY m.global_position`,
        [fromPosition, maxMessages],
      );
      const xmin = BigInt(rows[0]?.xmin ?? 0);
      const xmax = BigInt(rows[0]?.xmax ?? 0);
      let acceptedUpTo = fromPosition - 1;
      if (pendingGap && isFilled(pendingGap, rows)) pendingGap = null;
      // Passed once known rolled back; rows of it that did commit are read below all the same.
      if (pendingGap && (await rolledBackGaps(db, new Map([[0, pendingGap.gap]]), { xmin, xmax })).length > 0) {
        acceptedUpTo = Math.max(acceptedUpTo, pendingGap.until - 1);
        pendingGap = null;
      }
      const messages: StoredMessage[] = [];
      let expected = fromPosition;
      for (const row of rows) {
        if (row.id === null) continue; // no messages: the snapshot row alone
        const message = toStoredMessage(row as MessageRow);
        if (message.globalPosition > expected && message.globalPosition - 1 > acceptedUpTo) {
          pendingGap ??= { from: expected, until: message.globalPosition, gap: noticeGap(rows[0]!.read_at) };
          return { messages, complete: false };
        }
        messages.push(message);
        expected = message.globalPosition + 1;
      }
      return { messages, complete: true };
    },
  };
}

/** Every position of the gap is among the rows read. */
function isFilled(pending: { from: number; until: number }, rows: SnapshotRow[]): boolean {
  let filled = 0;
  for (const row of rows) {
    const position = Number(row.global_position);
    if (position >= pending.from && position < pending.until) filled++;
  }
  return filled === pending.until - pending.from;
}

type SnapshotRow = Row & { xmin: string; xmax: string; read_at: string } & {
  [K in keyof MessageRow]: MessageRow[K] | null;
};

/** Messages kept by the shared `$all` window of a process, at most. */
const WINDOW_MESSAGES = 10_000;
/** Rows a read at the head of `$all` asks for. */
const HEAD_READ = 1000;

interface AllStreamWindow {
  /** Every message from `from` through `verifiedThrough` that will ever be visible (holes were rolled back). */
  from: number;
  verifiedThrough: number;
  messages: StoredMessage[];
  head: AllStreamReader;
  /** The read at the head in flight, and where it reads from. */
  reading: { from: number; done: Promise<{ messages: StoredMessage[]; complete: boolean }> } | null;
}

const windows = new WeakMap<Database, AllStreamWindow>();

/**
 * `$all` for one consumer of a process whose other `$all` consumers read the same messages: the
 * process reads the head of `$all` once, in commit order, and keeps a window of what it read, so
 * N consumers at the head cost the database one read, not N (each read costs PostgreSQL and this
 * process the same whoever asks, and the writers wait for the cores they take). A consumer behind
 * the window (catching up) or ahead of it reads on its own, as `readAllInCommitOrder`, until it
 * reaches the window.
 */
export function readAllShared(db: Database): AllStreamReader {
  let window = windows.get(db);
  if (!window) {
    window = { from: 1, verifiedThrough: 0, messages: [], head: readAllInCommitOrder(db), reading: null };
    windows.set(db, window);
  }
  const shared = window;
  const own = readAllInCommitOrder(db);

  const fromWindow = (from: number, max: number) => {
    const first = firstAtOrAfter(shared.messages, from);
    return shared.messages.slice(first, first + max);
  };

  const readHead = (from: number) => {
    if (shared.reading?.from === from) return shared.reading.done;
    const done = shared.head.read(from, HEAD_READ).then(
      (result) => {
        if (shared.reading?.done === done) shared.reading = null;
        const last = result.messages.at(-1);
        // Only a read that began where the window ends extends it (a reset may have moved it meanwhile).
        if (last && shared.verifiedThrough === from - 1) {
          shared.messages.push(...result.messages);
          shared.verifiedThrough = last.globalPosition;
          const excess = shared.messages.length - WINDOW_MESSAGES;
          if (excess > 0) {
            shared.from = shared.messages[excess - 1]!.globalPosition + 1;
            shared.messages.splice(0, excess);
          }
        }
        return result;
      },
      (error: unknown) => {
        if (shared.reading?.done === done) shared.reading = null;
        throw error;
      },
    );
    shared.reading = { from, done };
    return done;
  };

  return {
    async read(from, max, { beginNow = false } = {}) {
      if (beginNow) return own.read(from, max);
      if (from >= shared.from && from <= shared.verifiedThrough)
        return { messages: fromWindow(from, max), complete: true };
      if (from > shared.verifiedThrough + 1 && !shared.reading) {
        // Ahead of the window (it was empty, or this consumer's position is newer): the window moves here,
        // with a reader of its own, and those behind read on their own until they reach it.
        shared.from = from;
        shared.verifiedThrough = from - 1;
        shared.messages = [];
        shared.head = readAllInCommitOrder(db);
      }
      if (from === shared.verifiedThrough + 1) {
        const result = await readHead(from);
        return {
          messages: result.messages.filter((message) => message.globalPosition >= from).slice(0, max),
          complete: result.complete,
        };
      }
      return own.read(from, max);
    },
  };
}

/** The index of the first of `messages` (in global-position order) at or after `globalPosition`. */
export function firstAtOrAfter(messages: readonly StoredMessage[], globalPosition: number): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (messages[middle]!.globalPosition < globalPosition) low = middle + 1;
    else high = middle;
  }
  return low;
}
