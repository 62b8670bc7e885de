import type { Queryable } from 'message-db-toolkit';

/**
 * Keyset pagination of lists shown newest first (the catalogue, "my videos"): a page starts after (or ends before)
 * a row, named by its sort time and id — never by an OFFSET, so a page costs the same however deep, and a video
 * published meanwhile shifts nothing. The cursor is the row's time as PostgreSQL keeps it (microseconds, UTC) and
 * its id: `2026-12-02T18:04:05.123456Z~{uuid}`.
 */
export interface Cursor {
  at: string;
  id: string;
}

export interface PageRequest {
  /** Null: the first page. */
  cursor: Cursor | null;
  /** `after`: the rows following the cursor (Next); `before`: those preceding it (Previous). */
  direction: 'after' | 'before';
  size: number;
}

export interface KeysetPage<Row> {
  rows: Row[];
  /** Where the next and previous pages start; null when there is none. */
  next: Cursor | null;
  previous: Cursor | null;
}

export const encodeCursor = (cursor: Cursor) => `${cursor.at}~${cursor.id}`;

const CURSOR =
  /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\.(\d{6})Z~([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** A cursor we made, or null: a well-formed, real UTC time (no 31 February) and an id. */
export function decodeCursor(text: string): Cursor | null {
  const match = CURSOR.exec(text);
  if (!match) return null;
  const [, seconds, micros, id] = match;
  const milliseconds = `${seconds}.${micros!.slice(0, 3)}Z`;
  const time = new Date(milliseconds);
  if (Number.isNaN(time.getTime()) || time.toISOString() !== milliseconds) return null;
  return { at: `${seconds}.${micros}Z`, id: id! };
}

/** A row's sort time as a cursor carries it. */
const cursorTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export interface KeysetSource {
  /** The columns to select. */
  select: string;
  /** `FROM … WHERE …`: the rows of the list; it ends with its WHERE condition, its parameters `params`. */
  from: string;
  params: unknown[];
  /** The sort time (timestamptz, never null) and the id (uuid) the list is ordered by, newest first. */
  at: string;
  id: string;
}

/** One page of a list ordered by (`at`, `id`) descending, and where its neighbours start. */
export async function readKeysetPage<Row>(
  db: Queryable,
  { select, from, params, at, id }: KeysetSource,
  { cursor, direction, size }: PageRequest,
): Promise<KeysetPage<Row>> {
  const next = params.length + 1;
  const beyond = (comparison: '<' | '>', position: number) =>
    ` AND (${at}, ${id}) ${comparison} ($${position}::timestamptz, $${position + 1}::uuid)`;
  const order = direction === 'after' ? 'DESC' : 'ASC';
  const found = await db.query<Row & { page_at: string; page_id: string }>(
    `SELECT ${select}, ${cursorTime(at)} AS page_at, ${id}::text AS page_id FROM ${from}
     ${cursor ? beyond(direction === 'after' ? '<' : '>', next) : ''}
     ORDER BY ${at} ${order}, ${id} ${order} LIMIT $${cursor ? next + 2 : next}`,
    [...params, ...(cursor ? [cursor.at, cursor.id] : []), size + 1],
  );
  const more = found.length > size;
  const rows = found.slice(0, size);
  if (direction === 'before') rows.reverse();
  const cursorOf = (row: { page_at: string; page_id: string }): Cursor => ({ at: row.page_at, id: row.page_id });
  // Is there anything on the other side of this page (before its first row, or after its last)?
  const anyBeyond = async (comparison: '<' | '>', from_: Cursor) => {
    const [row] = await db.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${from} ${beyond(comparison, next)}) AS found`,
      [...params, from_.at, from_.id],
    );
    return row?.found === true;
  };
  const first = rows[0] ? cursorOf(rows[0]) : cursor;
  const last = rows.at(-1) ? cursorOf(rows.at(-1)!) : cursor;
  if (direction === 'after')
    return {
      rows,
      next: more && last ? last : null,
      previous: cursor && first && (await anyBeyond('>', first)) ? first : null,
    };
  return {
    rows,
    previous: more && first ? first : null,
    next: last && (await anyBeyond('<', last)) ? last : null,
  };
}
