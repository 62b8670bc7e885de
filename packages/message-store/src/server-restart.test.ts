import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, eventually, exampleMessage, uniqueCategory, type TestDatabase } from './controls/index.js';
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
    await eventually(() => handled.length === 1, { timeoutMs: 10_000 });

    restartServer();

    // The store's own reconnecting retries carry this write over the restart.
    await store.write(`${category}-2`, exampleMessage());
    await eventually(() => handled.length === 2, { timeoutMs: 30_000 });
    await sleep(1_000); // the next write comes once the wake-up watcher is back: no signal tells when it is
    await store.write(`${category}-3`, exampleMessage());
    await eventually(() => handled.length === 3, { timeoutMs: 15_000 });
    await subscription.stop();
    expect(new Set(handled).size).toBe(3);
  }, 90_000);

  it('busy consumer processes live through the restart and handle every message once', async () => {
    // The worker processes of lost-connections.test.ts: a crash shows as an exit.
    const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lost-connections.worker.ts');
    const children: { child: ChildProcess; output: string[] }[] = [];
    const start = (env: Record<string, string>) => {
      const child = spawn(process.execPath, ['--import', 'tsx', worker], {
        env: { ...process.env, WORKER_DATABASE_URL: test.connectionString!, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      children.push({ child, output });
      return { child, output };
    };
    const alive = ({ child }: { child: ChildProcess }) => child.exitCode === null && child.signalCode === null;
    const store = createMessageStore({ db: test.db, reconnectAttempts: 30 });
    const commands = uniqueCategory('restartCommands');
    const counted = uniqueCategory('restartCounted');
    const table = `tally_${counted.toLowerCase()}`;
    await test.db.exec(`CREATE TABLE ${table} (entity text PRIMARY KEY, count integer NOT NULL)`);
    try {
      const consumer = start({ WORKER_MODE: 'commands', WORKER_CATEGORY: commands, WORKER_HANDLER_MS: '5' });
      const aggregator = start({ WORKER_MODE: 'batch', WORKER_CATEGORY: counted, WORKER_TABLE: table });
      await eventually(() => [consumer, aggregator].every((each) => each.output.join('').includes('"ready"')), {
        timeoutMs: 30_000,
      });
      const written: string[] = [];
      const writeLoad = async (count: number) => {
        for (let n = 0; n < count; n++) {
          const id = randomUUID();
          await store.write(`${commands}:command-e${n % 10}`, { id, type: 'Do', data: {} });
          written.push(id);
          await store.write(`${counted}-e${n % 10}`, { id: randomUUID(), type: 'Counted', data: {} });
        }
      };
      await writeLoad(300);
      const doneCount = async () =>
        (await store.read(commands, { from: 0, max: 100_000 })).filter((event) => event.type === 'Done').length;
      await eventually(async () => (await doneCount()) > 20, { timeoutMs: 30_000 });

      restartServer(); // while both are in the middle of their backlogs

      await writeLoad(100); // carried over the restart by the store's reconnecting retries
      const tally = async () =>
        (await test.db.query<{ total: number }>(`SELECT coalesce(sum(count), 0)::int AS total FROM ${table}`))[0]!
          .total;
      await eventually(async () => !children.every(alive) || ((await doneCount()) >= 400 && (await tally()) >= 400), {
        timeoutMs: 60_000,
      });
      await sleep(1_000); // a late duplicate would show meanwhile
      for (const each of children) expect(alive(each), each.output.join('').slice(-3000)).toBe(true);
      const done = (await store.read(commands, { from: 0, max: 100_000 })).filter((event) => event.type === 'Done');
      expect(done.map((event) => event.data.commandId).sort()).toEqual([...written].sort());
      expect(await tally()).toBe(400);
    } finally {
      for (const { child } of children) if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 150_000);
});
