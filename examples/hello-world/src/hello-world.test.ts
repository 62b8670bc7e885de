import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createMessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from './database.js';
import { NUMBERS_CATEGORY, NUMBERS_LOG, writeNumber } from './numbers.js';
import { createHelloWorldServer } from './server.js';
import {
  applyNumbers,
  ensureTables,
  PRODUCT_MODULUS,
  positions,
  product,
  runningTotalService,
  sum,
  type RunningTotalService,
  type ServiceState,
} from './services.js';

let test: TestDatabase;
let started: RunningTotalService[];

beforeEach(async () => {
  test = await createTestDatabase();
  await ensureTables(test.db);
  started = [];
});

afterEach(async () => {
  await Promise.all(started.map((service) => service.stop()));
  await test.drop();
});

const store = () => createMessageStore({ db: test.db });

async function startService(total: typeof sum) {
  const service = runningTotalService(total, { store: store(), db: test.db });
  started.push(service);
  await service.start();
  return service;
}

async function writeAll(numbers: readonly number[]) {
  for (const number of numbers) await writeNumber(store(), number);
}

const productOf = (numbers: readonly number[]) =>
  numbers.reduce((total, number) => (total * BigInt(number)) % PRODUCT_MODULUS, 1n).toString();

async function lastGlobalPosition() {
  const log = await store().read(NUMBERS_LOG, { from: 0, max: 1000 });
  return log.at(-1)?.globalPosition ?? 0;
}

describe('hello world: one log, two services', () => {
  it('builds the sum and, started late, the product from the same log, each with its own position', async () => {
    await writeAll([2, 3, 4]);
    const sumService = await startService(sum);
    await sumService.waitUntilCaughtUp();
    expect(await sumService.state()).toMatchObject({
      service: 'sum',
      value: '9',
      position: await lastGlobalPosition(),
    });

    const productService = runningTotalService(product, { store: store(), db: test.db });
    expect(await productService.state()).toEqual({ service: 'product', value: '1', position: 0, running: false });

    await writeAll([5, 6]);
    await sumService.waitUntilCaughtUp();
    started.push(productService);
    await productService.start(); // late: the log already holds five numbers
    await productService.waitUntilCaughtUp();

    const position = await lastGlobalPosition();
    expect(await sumService.state()).toEqual({ service: 'sum', value: '20', position, running: true });
    expect(await productService.state()).toEqual({ service: 'product', value: '720', position, running: true });
  });

  it('keeps the product modulo a prime, exactly', async () => {
    const numbers = [1_000_000, 999_999, 123_457, 1_000_000, 77];
    await writeAll(numbers);
    const productService = await startService(product);
    await productService.waitUntilCaughtUp();
    expect((await productService.state()).value).toBe(productOf(numbers));
  });

  it('resumes after a restart from its stored position, counting nothing twice', async () => {
    await writeAll([10, 20]);
    const first = await startService(sum);
    await first.waitUntilCaughtUp();
    await first.stop();

    await writeAll([30]);
    const again = await startService(sum); // a new process, in effect: only the stored position is shared
    await again.waitUntilCaughtUp();
    expect(await again.state()).toMatchObject({ value: '60', position: await lastGlobalPosition() });
  });

  it('changes nothing when a batch is handled twice (idempotent handlers)', async () => {
    await writeAll([3, 4]);
    const log: StoredMessage[] = await store().read(NUMBERS_CATEGORY, { from: 1, max: 1000 });
    for (const total of [sum, product]) {
      const apply = applyNumbers(total);
      await test.db.transaction((tx) => apply(log, tx));
      await test.db.transaction((tx) => apply(log, tx));
    }
    const [sumRow] = await test.db.query<{ value: string }>(`SELECT value::text AS value FROM ${sum.table}`);
    const [productRow] = await test.db.query<{ value: string }>(`SELECT value::text AS value FROM ${product.table}`);
    expect([sumRow?.value, productRow?.value]).toEqual(['7', '12']);
  });

  it('parks a number that is not one, written by anyone, and counts the rest', async () => {
    await writeAll([2]);
    await store().write(NUMBERS_LOG, { id: crypto.randomUUID(), type: 'NumberWritten', data: { number: 'many' } });
    await writeAll([5]);
    const sumService = await startService(sum);
    await sumService.waitUntilCaughtUp();
    expect((await sumService.state()).value).toBe('7');
    expect(await sumService.parkingLot.list()).toHaveLength(1);
  });
});

describe('hello world over HTTP', () => {
  async function serve() {
    const sumService = await startService(sum);
    const productService = runningTotalService(product, { store: store(), db: test.db });
    const server = createHelloWorldServer({ store: store(), services: [sumService, productService] });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return { sumService, url, close: () => new Promise((resolve) => server.close(resolve)) };
  }

  it('writes numbers posted to /numbers and serves both states', async () => {
    const { sumService, url, close } = await serve();
    try {
      const post = (body: string) => fetch(`${url}/numbers`, { method: 'POST', body });
      expect((await post('{"number": 7}')).status).toBe(201);
      expect((await post('{"number": 8}')).status).toBe(201);
      for (const refused of ['{"number": 0}', '{"number": 1.5}', '{"number": "7"}', 'seven', '{}'])
        expect((await post(refused)).status).toBe(400);
      expect((await post(`{"number": ${'1'.repeat(200_000)}}`)).status).toBe(413);

      await sumService.waitUntilCaughtUp();
      const position = await lastGlobalPosition();
      expect(await (await fetch(`${url}/sum`)).json()).toEqual({
        service: 'sum',
        value: '15',
        position,
        running: true,
      });
      expect(await (await fetch(`${url}/product`)).json()).toEqual({
        service: 'product',
        value: '1',
        position: 0,
        running: false,
      });
      const page = await (await fetch(`${url}/`)).text();
      expect(page).toContain('<tr><th scope="row">sum</th><td>15</td>');
      expect(page).toContain('not started yet');
      expect((await fetch(`${url}/nothing`)).status).toBe(404);
    } finally {
      await close();
    }
  });
});

describe('hello world, the one command', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));

  /** Runs main.ts until `whileRunning` is done, then stops it as Ctrl-C does; resolves with its exit code. */
  async function runMain(env: Record<string, string>, whileRunning: (url: string) => Promise<void>) {
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      // No DATABASE_URL of the environment's: PGlite unless `env` names one.
      env: { ...process.env, PORT: '0', DATABASE_URL: '', HELLO_WORLD_DATA_DIRECTORY: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const listening = /at (http:\/\/localhost:\d+)\//.exec(output);
          if (listening?.[1]) resolve(listening[1]);
        });
        void exited.then(() => reject(new Error('main.ts ended before serving')));
      });
      await whileRunning(url);
    } catch (error) {
      throw new Error(`${String(error)}; main.ts said:\n${output}`, { cause: error });
    } finally {
      child.kill('SIGINT');
      const stuck = setTimeout(() => child.kill('SIGKILL'), 20_000); // a stop that hangs fails, and ends
      await exited;
      clearTimeout(stuck);
    }
    return child.exitCode;
  }

  const json = async (url: string) => (await fetch(url)).json() as Promise<ServiceState>;

  async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000) {
    for (const deadline = Date.now() + timeoutMs; !(await check()); await sleep(100))
      if (Date.now() > deadline) throw new Error('not within the time');
  }

  it('writes numbers, starts the product late, serves both, and stops on Ctrl-C with state and position agreeing', async () => {
    const dataDirectory = await mkdtemp(join(tmpdir(), 'hello-world-'));
    const where: Record<string, string> = test.connectionString
      ? { DATABASE_URL: test.connectionString }
      : { HELLO_WORLD_DATA_DIRECTORY: dataDirectory };
    try {
      const code = await runMain(
        { ...where, PRODUCT_STARTS_AFTER_SECONDS: '5', WRITE_EVERY_MS: '100' },
        async (url) => {
          expect(await json(`${url}/product`)).toMatchObject({ running: false, position: 0 });
          await eventually(async () => (await json(`${url}/sum`)).position > 0);
          await eventually(async () => (await json(`${url}/product`)).position > 0);
          expect(await json(`${url}/product`)).toMatchObject({ running: true });
        },
      );
      expect(code).toBe(0);

      // PGlite's data is the stopped process's, opened now; PostgreSQL's the test database itself.
      const db = test.connectionString ? test.db : await openDatabase({ dataDirectory });
      try {
        const log = await createMessageStore({ db }).read(NUMBERS_LOG, { from: 0, max: 1000 });
        const numbersThrough = (position: number) =>
          log.filter((message) => message.globalPosition <= position).map((message) => Number(message.data.number));
        for (const total of [sum, product]) {
          const [row] = await db.query<{ value: string }>(`SELECT value::text AS value FROM ${total.table}`);
          const position = await positions(db).read({ subscriberId: total.subscriberId });
          expect(position).toBeGreaterThan(0);
          const expected = numbersThrough(position).reduce(
            (value, number) => total.next(value, BigInt(number)),
            total.initial,
          );
          expect(row?.value).toBe(expected.toString());
        }
      } finally {
        if (db !== test.db) await db.close();
      }
    } finally {
      await rm(dataDirectory, { recursive: true, force: true });
    }
  }, 120_000); // two starts of a whole process (the run, then PGlite opened again), slow on a busy machine
});
