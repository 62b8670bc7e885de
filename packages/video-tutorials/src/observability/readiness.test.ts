import type { Queryable } from 'message-db-toolkit';
import { describe, expect, it } from 'vitest';
import { createReadiness } from './readiness.js';

function database(answer: () => Promise<unknown>): Queryable & { asked: number } {
  const db = {
    asked: 0,
    async query() {
      db.asked++;
      await answer();
      return [];
    },
    async exec() {},
  };
  return db as Queryable & { asked: number };
}

describe('readiness', () => {
  it('is ready when the system runs and every database answers', async () => {
    const shared = database(async () => {});
    const readiness = createReadiness({
      databases: { messageStore: shared, viewData: shared },
      state: () => 'running',
    });
    expect(await readiness.check()).toEqual({
      ready: true,
      checks: { system: 'running', messageStore: 'ok', viewData: 'ok' },
    });
    expect(shared.asked).toBe(1); // one database under two names is asked once
  });

  it('is not ready while starting or stopping, nor when a database fails or is slow', async () => {
    const fine = database(async () => {});
    const broken = database(async () => {
      throw new Error('Cannot use a pool after calling end on the pool');
    });
    const slow = database(() => new Promise((resolve) => setTimeout(resolve, 1_000)));
    let state: 'starting' | 'running' | 'stopping' = 'starting';
    const readiness = createReadiness({
      databases: { messageStore: fine, viewData: broken, search: slow },
      state: () => state,
      timeoutMs: 20,
    });
    expect(await readiness.check()).toEqual({
      ready: false,
      checks: { system: 'starting', messageStore: 'ok', viewData: 'failed', search: 'timed out' },
    });
    state = 'stopping';
    const stopping = createReadiness({ databases: { messageStore: fine }, state: () => state });
    expect(await stopping.check()).toEqual({ ready: false, checks: { system: 'stopping', messageStore: 'ok' } });
  });
});
