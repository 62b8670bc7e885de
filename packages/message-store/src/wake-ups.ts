import { ANY_CHANGE, isTransientDatabaseError, type Database, type Row, type Session } from './database/port.js';
import type { StoredMessage } from './message.js';
import { firstAtOrAfter } from './read-all.js';
import { messageColumnsWhen, toStoredMessage, type MessageRow } from './store.js';
import { gapsToAsk, noticeGap, rolledBackGaps, writerMayHoldSql, type Gap } from './gaps.js';
import { ALL_STREAMS, category as categoryOf } from './stream-name.js';
import { hearWrites } from './write-announcements.js';

type Listener = (category: string) => void;

/**
 * Wake-ups for consumers, at no cost to writers: one watcher per database handle (so per process)
 * reads the positions and categories of new rows — an index range scan on `global_position` —
 * every few milliseconds, on a connection of its own, and wakes the local consumers of those
 * categories. Nothing runs inside the writers' transactions, so any writer (this toolkit,
 * `write_message` from plain SQL, the book's JavaScript system) is seen the same way.
 *
 * Positions are taken before commit, so a row can become visible after a higher one: a gap is
 * watched until its row appears or its writer is known to have rolled back (see gaps.ts).
 */
export interface WakeUps {
  /**
   * Calls `listener` when a message is written to `category` (any category for `$all`). With `feed`,
   * the watcher also keeps what it reads of the category for `feed.read` (not for `$all`).
   */
  subscribe(category: string, listener: Listener, options?: { feed?: boolean }): Promise<() => Promise<void>>;
  readonly feed: CategoryFeed;
}

/**
 * The messages of fed categories as the watcher read them, so that consumers at the head take them
 * from here instead of each reading its category again: N categories cost one read per look, not N.
 *
 * Sound because Message DB's `write_message` holds a category's lock from before it takes a position
 * until it commits, so a category's messages become visible in position order: what the looks read of
 * a category, in order, is the category. A consumer whose own read of the category began while look
 * `L` was the latest (`currentLook()`) and was not cut short finds every later message of it here, in
 * looks from `L` on — until the feed cannot tell (the watcher started over, or trimmed those looks):
 * then `read` answers null and the consumer reads the category itself.
 */
export interface CategoryFeed {
  /** The number of the latest look begun: a read begun now misses nothing that looks from it on will see. */
  currentLook(): number;
  read(
    category: string,
    sinceLook: number,
    fromPosition: number,
    max: number,
  ): { messages: StoredMessage[]; truncated: boolean; throughLook: number } | null;
}

export interface WatcherOptions {
  /**
   * The interval while messages are arriving (20 ms, the default `coalesceMs`): consumers are woken at
   * most every `coalesceMs` then anyway, so looking more often would cost the writers more and nobody would learn
   * sooner. Measured with 8 pgbench writers over 8 categories: looking every 10 ms cost them 0.71–0.82×
   * of plain Message DB's throughput, every 20 ms 0.89× (bench/third-party-writers.ts).
   */
  busyIntervalMs?: number;
  /**
   * The interval when nothing arrived at the last look (5 ms on PostgreSQL): the first write after quiet is seen
   * soon, whoever wrote it. On PGlite (250 ms) only this process can write, and the store announces its own writes
   * to the watcher as they commit (`announceWrite`): looking every 5 ms there cost an idle `npm start` a quarter of a
   * core (2.4 s of CPU per 10 s), every 250 ms 0.24 s; only statements that call `write_message` themselves wait.
   */
  idleIntervalMs?: number;
  /**
   * The shortest time between two wake-ups of one category's consumers (and of `$all`'s). The first
   * write after a quiet spell wakes them at once; writes arriving faster than this are announced
   * together, so a busy category is read in batches rather than a few messages per read — every
   * read costs the database the same whether it finds one message or a hundred, and that cost is
   * taken from the writers.
   */
  coalesceMs?: number;
  /**
   * The same for `$all`'s consumers (100 ms): they are the admin aggregators and the like, each of
   * which records its position in a transaction per batch, so their batches are worth making larger.
   */
  allCoalesceMs?: number;
}

/** The `application_name` of the watcher's connection, as seen in pg_stat_activity. */
export const WAKE_UPS_APPLICATION_NAME = 'message-store wake-ups';

const perDatabase = new WeakMap<Database, WakeUps>();
const BATCH = 1000;
/** Messages the feed keeps per category (whole looks); a consumer further behind reads for itself. */
const FEED_MESSAGES = 5_000;
/** Gaps watched at most; beyond that the oldest are given up (consumers then learn of them late). */
const MAX_GAPS = 10_000;

export function wakeUpsFor(db: Database, options: WatcherOptions = {}): WakeUps {
  let wakeUps = perDatabase.get(db);
  if (!wakeUps) {
    wakeUps = createWakeUps(db, options);
    perDatabase.set(db, wakeUps);
  }
  return wakeUps;
}

// Two index scans of the primary key: rows after the last one seen, and the gaps still open; the
// whole row only for fed categories ($3). One statement, so the snapshot's xmin is the one the rows were
// read with — and one round trip: whether a writer may still hold the gaps to ask about ($4, $5) comes with it.
const WATCH_SQL = `
  SELECT 'new' AS kind, category, NULL AS xmax, NULL::boolean AS writing, ${fedColumns('m')}
    FROM (SELECT *, split_part(stream_name, '-', 1) AS category FROM message_store.messages
           WHERE global_position > $1 ORDER BY global_position LIMIT ${BATCH}) AS m
  UNION ALL
  SELECT 'gap', category, NULL, NULL, ${fedColumns('m')}
    FROM (SELECT *, split_part(stream_name, '-', 1) AS category FROM message_store.messages
           WHERE global_position = ANY($2::bigint[])) AS m
  UNION ALL
  SELECT 'snapshot', clock_timestamp()::text, pg_snapshot_xmax(pg_current_snapshot())::text,
         ${writerMayHoldSql('$4', '$5')},
         pg_snapshot_xmin(pg_current_snapshot())::text::bigint, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL`;

function fedColumns(m: string) {
  const fed = `${m}.category = ANY($3::text[])`;
  return `${m}.global_position, ${fed} AS fed, ${messageColumnsWhen(fed)}`;
}

interface WatchRow extends Row {
  kind: 'new' | 'gap' | 'snapshot';
  /** The database clock on the snapshot row. */
  category: string;
  xmax: string | null;
  /** On the snapshot row: whether a writer may still hold the gaps asked about. */
  writing: boolean | null;
  /** The snapshot's xmin on the snapshot row. */
  global_position: string | number;
  fed: boolean;
}

/** Where the watcher leaves what it read of fed categories. */
interface FeedShelf {
  categories(): string[];
  lookBegun(): number;
  put(look: number, messages: StoredMessage[]): void;
  /** The watcher starts over: what it reads from now on need not follow what it read before. */
  startOver(): void;
}

function createWakeUps(db: Database, options: WatcherOptions): WakeUps {
  const busyIntervalMs = options.busyIntervalMs ?? 20;
  const idleIntervalMs = options.idleIntervalMs ?? (db.kind === 'pglite' ? 250 : 5);
  const coalesceMs = options.coalesceMs ?? 20;
  const allCoalesceMs = options.allCoalesceMs ?? 100;
  const windowOf = (key: string) => (key === ALL_STREAMS ? allCoalesceMs : coalesceMs);
  const listeners = new Map<string, Set<Listener>>();
  let watcher: Promise<Watcher> | undefined;

  /** When each listener key (a category, or `$all`) was last woken, and the keys waiting for their turn. */
  const lastWoken = new Map<string, number>();
  const waiting = new Set<string>();
  let waitingTimer: NodeJS.Timeout | undefined;

  const wake = (key: string, category: string) => {
    lastWoken.set(key, performance.now());
    waiting.delete(key);
    for (const listener of listeners.get(key) ?? []) listener(category);
  };
  const wakeWaiting = () => {
    waitingTimer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const key of [...waiting]) {
      const due = (lastWoken.get(key) ?? -Infinity) + windowOf(key);
      if (due <= now) wake(key, key);
      else next = Math.min(next, due);
    }
    if (Number.isFinite(next)) scheduleWaiting(next - now);
  };
  let waitingDue = Infinity;
  const scheduleWaiting = (ms: number) => {
    const due = performance.now() + Math.max(0, ms);
    // One timer, at the earliest turn due ($all's turns come less often than a category's).
    if (waitingTimer && waitingDue <= due) return;
    clearTimeout(waitingTimer);
    waitingDue = due;
    waitingTimer = setTimeout(wakeWaiting, Math.max(0, ms));
    waitingTimer.unref();
  };
  const dispatch = (category: string) => {
    if (category === ANY_CHANGE) {
      for (const key of [...listeners.keys()]) wake(key, ANY_CHANGE);
      return;
    }
    const now = performance.now();
    for (const key of [category, ALL_STREAMS]) {
      if (!listeners.get(key)?.size) continue;
      const since = now - (lastWoken.get(key) ?? -Infinity);
      if (since >= windowOf(key)) wake(key, category);
      else {
        waiting.add(key);
        scheduleWaiting(windowOf(key) - since);
      }
    }
  };
  const subscribers = () => [...listeners.values()].reduce((sum, set) => sum + set.size, 0);

  /** Per fed category: its consumers here, the first look it holds whole, and its messages with their looks. */
  const shelves = new Map<string, { consumers: number; since: number; messages: StoredMessage[]; looks: number[] }>();
  let looksBegun = 0;
  let lastLookPut = 0;
  const shelf: FeedShelf = {
    categories: () => [...shelves.keys()],
    lookBegun: () => ++looksBegun,
    put(look, messages) {
      lastLookPut = look;
      for (const message of messages) {
        const kept = shelves.get(categoryOf(message.streamName));
        if (!kept || look < kept.since) continue;
        kept.messages.push(message);
        kept.looks.push(look);
      }
      for (const kept of shelves.values()) {
        // Trimmed to half when full, so that trimming is rare. Whole looks go: a look kept in part
        // could not be told from one kept whole.
        if (kept.messages.length <= FEED_MESSAGES) continue;
        const firstKept = kept.looks[kept.messages.length - FEED_MESSAGES / 2]! + 1;
        const cut = kept.looks.findIndex((each) => each >= firstKept);
        kept.messages.splice(0, cut === -1 ? kept.messages.length : cut);
        kept.looks.splice(0, cut === -1 ? kept.looks.length : cut);
        kept.since = firstKept;
      }
    },
    startOver() {
      for (const kept of shelves.values()) {
        kept.since = looksBegun + 1;
        kept.messages = [];
        kept.looks = [];
      }
    },
  };
  const feed: CategoryFeed = {
    currentLook: () => looksBegun,
    read(category, sinceLook, fromPosition, max) {
      const kept = shelves.get(category);
      if (!kept || sinceLook < kept.since) return null;
      const first = firstAtOrAfter(kept.messages, fromPosition);
      const messages = kept.messages.slice(first, first + max);
      return { messages, truncated: first + max < kept.messages.length, throughLook: lastLookPut };
    },
  };

  return {
    feed,
    async subscribe(category, listener, options = {}) {
      let set = listeners.get(category);
      if (!set) listeners.set(category, (set = new Set()));
      set.add(listener);
      const fed = options.feed === true && category !== ALL_STREAMS;
      if (fed) {
        const kept = shelves.get(category);
        // Looks begun before now did not read the category's rows whole.
        if (kept) kept.consumers++;
        else shelves.set(category, { consumers: 1, since: looksBegun + 1, messages: [], looks: [] });
      }
      // The watcher starts from the newest row before the subscriber reads for the first time.
      watcher ??= startWatcher(db.session(WAKE_UPS_APPLICATION_NAME), dispatch, shelf, busyIntervalMs, idleIntervalMs);
      const running = watcher;
      const started = await running;
      if (watcher === running) hearWrites(db, () => started.announceWrite());
      return async () => {
        set.delete(listener);
        const kept = fed ? shelves.get(category) : undefined;
        if (kept && --kept.consumers === 0) shelves.delete(category);
        if (subscribers() === 0 && watcher === running) {
          watcher = undefined;
          hearWrites(db, null);
          clearTimeout(waitingTimer);
          waitingTimer = undefined;
          waiting.clear();
          await (await running).stop();
        }
      };
    },
  };
}

interface Watcher {
  /** This process committed a message: look now if idle. */
  announceWrite(): void;
  stop(): Promise<void>;
}

async function startWatcher(
  session: Session,
  dispatch: (category: string) => void,
  shelf: FeedShelf,
  busyIntervalMs: number,
  idleIntervalMs: number,
): Promise<Watcher> {
  let stopped = false;
  /** Sleeping after a look that found nothing; and whether a write was announced during a look. */
  let idle = false;
  let announced = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeTimer: () => void = () => {};
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      wakeTimer = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  // Where the watcher reads on from; until it can read it, anything new is announced to all on connect.
  let seen: number | null = null;
  /** Positions missing below `seen`, watched until their writer commits or is known to have rolled back. */
  const gaps = new Map<number, Gap>();

  const start = async () => {
    const [row] = await session.query<Row & { last: string | number | null }>(
      'SELECT max(global_position) AS last FROM message_store.messages',
    );
    // A little way back: writers still in flight below the newest row become gaps to watch.
    seen = Math.max(0, Number(row?.last ?? 0) - BATCH);
    gaps.clear();
    shelf.startOver();
  };

  const tick = async (): Promise<boolean> => {
    if (seen === null) {
      await start();
      dispatch(ANY_CHANGE);
      return true;
    }
    const look = shelf.lookBegun();
    const rows = await session.query<WatchRow>(WATCH_SQL, [
      seen,
      [...gaps.keys()],
      shelf.categories(),
      ...gapsToAsk(gaps.values()),
    ]);
    const categories = new Set<string>();
    const fed: StoredMessage[] = [];
    let expected = seen + 1;
    const newGaps: number[] = [];
    let xmin = 0n;
    let xmax = 0n;
    let readAt = '';
    let writing = true;
    for (const row of rows) {
      if (row.kind === 'snapshot') {
        xmin = BigInt(row.global_position);
        xmax = BigInt(row.xmax!);
        readAt = row.category;
        writing = row.writing !== false;
        continue;
      }
      const position = Number(row.global_position);
      categories.add(row.category);
      if (row.fed) fed.push(toStoredMessage(row as unknown as MessageRow));
      if (row.kind === 'gap') {
        gaps.delete(position);
        continue;
      }
      for (let missing = expected; missing < position; missing++) newGaps.push(missing);
      expected = position + 1;
      seen = position;
    }
    // Still missing: in flight, or rolled back (see gaps.ts).
    for (const position of await rolledBackGaps(session, gaps, { xmin, xmax, writing })) gaps.delete(position);
    for (const position of newGaps) gaps.set(position, noticeGap(readAt));
    if (gaps.size > MAX_GAPS) {
      while (gaps.size > MAX_GAPS) gaps.delete(gaps.keys().next().value as number);
      shelf.startOver(); // a gap given up unseen: the feed can no longer vouch for what follows
    }
    // A fed category's gap rows and new rows, in position order (a category commits in that order).
    shelf.put(
      look,
      fed.sort((a, b) => a.globalPosition - b.globalPosition),
    );
    for (const category of categories) dispatch(category);
    return categories.size > 0;
  };

  const loop = async () => {
    let interval = busyIntervalMs;
    let failures = 0;
    let found = false;
    while (!stopped) {
      try {
        announced = false;
        found = await tick();
        if (failures > 0) dispatch(ANY_CHANGE); // back after an outage: nothing is lost, but look anyway
        failures = 0;
        // A write announced while looking may have committed after the look's snapshot: look again at once.
        interval = found ? busyIntervalMs : announced ? 0 : Math.min(interval * 2, idleIntervalMs);
      } catch (error) {
        if (stopped) break;
        failures++;
        interval = Math.min(100 * 2 ** Math.min(failures, 6), 5_000);
        if (!isTransientDatabaseError(error)) dispatch(ANY_CHANGE);
      }
      idle = failures === 0 && !found;
      if (!stopped) await sleep(interval);
      idle = false;
    }
  };

  await start().catch(() => {});
  const running = loop();
  return {
    announceWrite() {
      if (idle) wakeTimer();
      else announced = true;
    },
    async stop() {
      stopped = true;
      wakeTimer();
      await running;
      await session.close();
    },
  };
}
