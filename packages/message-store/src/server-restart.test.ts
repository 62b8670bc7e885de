import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, exampleMessage, uniqueCategory, type TestDatabase } from './controls/index.js';
import { createMessageStore } from './store.js';
import { createSubscription } from './subscription.js';

/**
 * Restarts the machine's PostgreSQL server for real, so it runs alone:
 * `npm run test:postgres-restart` (and .ci/run) sets TEST_POSTGRES_RESTART=1.
 */
const enabled = Boolean(process.env.TEST_POSTGRES_URL && process.env.TEST_POSTGRES_RESTART === '1');

function restartServer() {
  const [version] = readdirSync('/etc/postgresql');
  if (!version) throw new Error('No PostgreSQL cluster in /etc/postgresql');
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart'], { stdio: 'inherit' });
}

async function waitFor(condition: () => boolean, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe.runIf(enabled)('after the PostgreSQL server restarts', () => {
  let test: TestDatabase;
  beforeAll(async () => {
    test = await createTestDatabase();
  });
  afterAll(() => test.drop());

  it('a consumer reconnects, resumes, and is woken again by writes', async () => {
    const store = createMessageStore({ db: test.db });
    const category = uniqueCategory();
    const handled: string[] = [];
    const subscription = createSubscription({
      store,
      streamName: category,
      subscriberId: randomUUID(),
      // Only a wake-up can bring the later messages in time.
      tickIntervalMs: 120_000,
      handlers: { $any: (m) => void handled.push(m.id) },
    });
    await subscription.start();
    await store.write(`${category}-1`, exampleMessage());
    await waitFor(() => handled.length === 1, 10_000);

    restartServer();

    // The store's own reconnecting retries carry this write over the restart.
    await store.write(`${category}-2`, exampleMessage());
    await waitFor(() => handled.length === 2, 30_000);
    await sleep(1_000);
    await store.write(`${category}-3`, exampleMessage());
    await waitFor(() => handled.length === 3, 15_000);
    await subscription.stop();
    expect(new Set(handled).size).toBe(3);
  }, 90_000);
});
