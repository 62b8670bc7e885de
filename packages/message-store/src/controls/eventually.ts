import { setTimeout as sleep } from 'node:timers/promises';

export interface EventuallyOptions {
  /** How long to keep asking; default 10 s. */
  timeoutMs?: number;
  /** The wait between two questions; default 10 ms. */
  intervalMs?: number;
  /** What is waited for, for the error. */
  what?: string;
}

/**
 * Asks `condition` until it answers something other than `undefined`, `false` or `null`, and returns that
 * answer: for what other consumers do in their own time. Fails after `timeoutMs` with what was waited for.
 */
export async function eventually<T>(
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  { timeoutMs = 10_000, intervalMs = 10, what = 'condition' }: EventuallyOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await condition();
    if (answer !== undefined && answer !== null && answer !== false) return answer;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
