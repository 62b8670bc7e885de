import type { Queryable, Row } from './database/port.js';

/**
 * A global position missing below a newer, visible one: a writer still in flight (Message DB orders
 * commits only within a category), or one that rolled back, which leaves a hole for good.
 *
 * Telling the two apart without asking the lock manager (pg_locks stalls the writers): the writer
 * of a missing position began before the read that found the gap. Once a later snapshot's xmin has
 * passed the xmax of the read after that, every writer that had an xid then has ended. But a writer
 * takes its position (the column default) a moment before its xid (the row's insert), and on a
 * loaded machine it can be descheduled in between for longer than a read takes — so that alone
 * once gave up a gap whose writer then committed, and the message was never delivered. So a gap
 * that passed the xmin test is given up only when no transaction that began before the gap was
 * noticed may still write (one mid-statement, or one holding an xid), and then only at a read
 * begun after that was seen, which would see the row had it been committed.
 */
export interface Gap {
  /** The database clock at the read that found the gap. */
  noticedAt: string;
  /** The xmax of the read after it; null until then. */
  xmax: bigint | null;
  /** No writer that could hold the gap was running at a moment before the next read. */
  noWriterLeft: boolean;
}

export function noticeGap(noticedAt: string): Gap {
  return { noticedAt, xmax: null, noWriterLeft: false };
}

/**
 * After a read (its snapshot's xmin and xmax) in which `gaps` were still missing: the keys of those
 * that were rolled back, to be passed; the others stay open. `writing` is the answer to
 * `gapsToAsk` (`writerMayHoldSql`) when the read's own statement asked it; otherwise it is asked now.
 */
export async function rolledBackGaps<K>(
  db: Queryable,
  gaps: Map<K, Gap>,
  snapshot: { xmin: bigint; xmax: bigint; writing?: boolean },
): Promise<K[]> {
  const rolledBack: K[] = [];
  const toAsk: Gap[] = [];
  for (const [key, gap] of gaps) {
    if (gap.xmax === null) gap.xmax = snapshot.xmax;
    else if (snapshot.xmin >= gap.xmax) {
      if (gap.noWriterLeft) rolledBack.push(key);
      else toAsk.push(gap);
    }
  }
  if (toAsk.length > 0) {
    const writing = snapshot.writing ?? (await writerMayHoldGapsNoticedAt(db, gapsToAsk(toAsk)));
    if (!writing) for (const gap of toAsk) gap.noWriterLeft = true;
  }
  return rolledBack;
}

/**
 * The gaps a read's statement can ask `writerMayHoldSql` about, as its two array parameters: those
 * whose next read was seen and no writer has been ruled out yet (`rolledBackGaps` takes the answer
 * for the ones whose xmax the statement's snapshot has passed).
 */
export function gapsToAsk(gaps: Iterable<Gap>): [noticedAt: string[], xmax: string[]] {
  const noticedAt: string[] = [];
  const xmax: string[] = [];
  for (const gap of gaps)
    if (gap.xmax !== null && !gap.noWriterLeft) {
      noticedAt.push(gap.noticedAt);
      xmax.push(String(gap.xmax));
    }
  return [noticedAt, xmax];
}

/**
 * SQL (a boolean) for whether a transaction that began before the latest gap the statement's snapshot
 * has passed the xmax of (`$noticed`, `$xmax`: `gapsToAsk`) may still write. pg_stat_activity holds no
 * lock the writers wait for; asked in the read's own statement, it costs no round trip of its own.
 */
export function writerMayHoldSql(noticedAt: string, xmax: string): string {
  return `EXISTS (
    SELECT 1 FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND xact_start <= (SELECT max(gap.noticed) FROM unnest(${noticedAt}::timestamptz[], ${xmax}::bigint[]) AS gap(noticed, xmax)
                           WHERE gap.xmax <= pg_snapshot_xmin(pg_current_snapshot())::text::bigint)
       AND (state = 'active' OR backend_xid IS NOT NULL))`;
}

async function writerMayHoldGapsNoticedAt(db: Queryable, [noticedAt, xmax]: [string[], string[]]): Promise<boolean> {
  const [row] = await db.query<Row & { writing: boolean }>(`SELECT ${writerMayHoldSql('$1', '$2')} AS writing`, [
    noticedAt,
    xmax,
  ]);
  return row?.writing !== false;
}
