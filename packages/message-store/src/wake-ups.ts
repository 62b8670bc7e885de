import { ANY_CHANGE, type Database } from './database/port.js';
import { MESSAGE_WRITTEN_CHANNEL } from './install.js';

type Listener = (category: string) => void;

/**
 * Wake-ups for consumers: the trigger installed with Message DB notifies the
 * category of every new message; one LISTEN per database fans it out here.
 * A lost notification costs only latency — consumers still poll.
 */
export interface WakeUps {
  /** Calls `listener` when a message is written to `category` (any category for `$all`). */
  subscribe(category: string, listener: Listener): Promise<() => Promise<void>>;
}

const perDatabase = new WeakMap<Database, WakeUps>();

export function wakeUpsFor(db: Database): WakeUps {
  let wakeUps = perDatabase.get(db);
  if (!wakeUps) {
    wakeUps = createWakeUps(db);
    perDatabase.set(db, wakeUps);
  }
  return wakeUps;
}

function createWakeUps(db: Database): WakeUps {
  const listeners = new Map<string, Set<Listener>>();
  let listening: Promise<() => Promise<void>> | undefined;

  const dispatch = (category: string) => {
    const keys = category === ANY_CHANGE ? [...listeners.keys()] : [category, '$all'];
    for (const key of keys) for (const listener of listeners.get(key) ?? []) listener(category);
  };

  return {
    async subscribe(category, listener) {
      let set = listeners.get(category);
      if (!set) listeners.set(category, (set = new Set()));
      set.add(listener);
      listening ??= db.listen(MESSAGE_WRITTEN_CHANNEL, dispatch);
      await listening;
      return async () => {
        set.delete(listener);
      };
    },
  };
}
