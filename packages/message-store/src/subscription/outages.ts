import { setTimeout as sleep } from 'node:timers/promises';
import { isTransientDatabaseError } from '../database/port.js';

/** How long to wait before the `attempt`th try after a failure: doubling from 200 ms, at most 5 s. */
export function backoffMs(attempt: number): number {
  return Math.min(100 * 2 ** Math.min(attempt, 6), 5_000);
}

/** Runs `work` until the database answers; gives up on other errors, or once the consumer has stopped. */
export async function retryTransient<T>(work: () => Promise<T>, isStopped: () => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isTransientDatabaseError(error) || isStopped()) throw error;
      await sleep(backoffMs(attempt));
    }
  }
}
