import type { Database } from './database/port.js';

/** What the running wake-up watcher of each database does when this process announces a write. */
const announcers = new WeakMap<Database, () => void>();

/**
 * Tells the wake-up watcher of `db`, if one runs, that this process has just committed a message: an idle watcher
 * looks at once rather than at its next idle look. The store announces its own writes; a busy watcher looks every
 * `busyIntervalMs` anyway, so announcements never make it look more often than that.
 */
export function announceWrite(db: Database): void {
  announcers.get(db)?.();
}

/** Who hears `db`'s announcements from now on (the watcher, while it runs); `null` when it stops. */
export function hearWrites(db: Database, announced: (() => void) | null): void {
  if (announced) announcers.set(db, announced);
  else announcers.delete(db);
}
