/**
 * One process at a time on an embedded (PGlite) data directory.
 *
 * PGlite is PostgreSQL in single-user mode and, unlike PostgreSQL's
 * postmaster.pid, takes no lock on its directory: a second process opens it
 * without complaint, both write, and the directory is corrupted
 * (electric-sql/pglite#1106). So whoever opens the embedded database first
 * writes `<directory>.lock` holding its process id; anyone else finds a live
 * holder there and stops with `DataDirectoryInUseError`. A lock left by a
 * process that is gone (killed, crashed) is taken over.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockHolder {
  pid: number;
  command: string;
  since: string;
}

export class DataDirectoryInUseError extends Error {
  override name = 'DataDirectoryInUseError';
  constructor(
    readonly directory: string,
    readonly lockFile: string,
    readonly holder: LockHolder,
  ) {
    super(
      `The embedded database in ${directory} is in use by process ${holder.pid} (${holder.command}, since ${holder.since}). ` +
        `PGlite can be opened by one process at a time, and a second one would corrupt it: stop that process first, ` +
        `or run both on PostgreSQL (MESSAGE_STORE_CONNECTION_STRING). If no such process uses it, delete ${lockFile}.`,
    );
  }
}

export interface DataDirectoryLock {
  readonly lockFile: string;
  release(): Promise<void>;
}

/** Lock files this process holds: one of ours with our pid is in use; another with our pid is an earlier life's. */
const held = new Set<string>();

export async function lockDataDirectory(
  directory: string,
  command: string = process.argv.slice(1).join(' '),
): Promise<DataDirectoryLock> {
  const lockFile = `${directory}.lock`;
  const me: LockHolder = { pid: process.pid, command: command.slice(0, 200), since: new Date().toISOString() };
  for (let attempt = 1; ; attempt++) {
    try {
      const file = await open(lockFile, 'wx');
      try {
        await file.writeFile(JSON.stringify(me));
      } finally {
        await file.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(lockFile);
    if (holder === 'being-written' && attempt < 20) {
      await sleep(50);
      continue;
    }
    if (holder !== 'being-written' && holder !== 'gone' && isAlive(holder.pid, lockFile))
      throw new DataDirectoryInUseError(directory, lockFile, holder);
    if (attempt >= 20) throw new Error(`Could not lock ${directory}: ${lockFile} keeps changing`);
    // Left behind by a process that is gone: take it over.
    await unlink(lockFile).catch(() => {});
  }

  held.add(lockFile);
  const releaseOnExit = () => removeIfOurs(lockFile);
  process.once('exit', releaseOnExit);
  let released = false;
  return {
    lockFile,
    async release() {
      if (released) return;
      released = true;
      process.removeListener('exit', releaseOnExit);
      held.delete(lockFile);
      removeIfOurs(lockFile);
    },
  };
}

async function readHolder(lockFile: string): Promise<LockHolder | 'being-written' | 'gone'> {
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const holder = JSON.parse(text) as Partial<LockHolder>;
    if (typeof holder.pid === 'number' && Number.isInteger(holder.pid) && holder.pid > 0)
      return { pid: holder.pid, command: String(holder.command ?? '?'), since: String(holder.since ?? '?') };
  } catch {
    // A writer between `open` and `writeFile`, or a file cut short by a crash.
  }
  // Unreadable for more than a few seconds: its writer died before finishing.
  const age = Date.now() - (await stat(lockFile).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
  return age < 5_000 ? 'being-written' : 'gone';
}

function isAlive(pid: number, lockFile: string): boolean {
  // Our own pid in a file we do not hold: written by an earlier process that had our pid (a restarted container).
  if (pid === process.pid) return held.has(lockFile);
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Synchronous, so it also runs in an `exit` handler. */
function removeIfOurs(lockFile: string) {
  try {
    // Only our own file: after a takeover race the file may be someone else's.
    const holder = JSON.parse(readFileSync(lockFile, 'utf8')) as Partial<LockHolder>;
    if (holder.pid === process.pid) unlinkSync(lockFile);
  } catch {
    // Already gone, or not ours.
  }
}
