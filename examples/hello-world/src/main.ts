// One command runs the whole example: the log, a writer, the sum and product services, and the HTTP server.
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMessageStore } from 'message-db-toolkit';
import { openDatabase } from './database.js';
import { writeNumber } from './numbers.js';
import { createHelloWorldServer } from './server.js';
import { ensureTables, product, runningTotalService, sum } from './services.js';

const settings = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  /** The embedded PGlite's data, when there is no DATABASE_URL (default: `data/pglite` in this example). */
  dataDirectory: process.env.HELLO_WORLD_DATA_DIRECTORY || undefined,
  port: wholeNumber('PORT', 3001),
  /** The product service starts this late, to show a service catching up with the log. */
  productStartsAfterSeconds: wholeNumber('PRODUCT_STARTS_AFTER_SECONDS', 5),
  /** The writer appends a number from 1 to 9 this often; 0: only numbers POSTed to /numbers. */
  writeEveryMs: wholeNumber('WRITE_EVERY_MS', 1000),
};

function wholeNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text)) {
    console.error(`hello-world: ${name} must be a whole number, not "${text}"`);
    process.exit(1);
  }
  return Number(text);
}

const db = await openDatabase(settings);
await ensureTables(db);
const store = createMessageStore({ db });
const sumService = runningTotalService(sum, { store, db, logger: console });
const productService = runningTotalService(product, { store, db, logger: console });
const server = createHelloWorldServer({ store, services: [sumService, productService] });

const stopping = new AbortController();

async function writeNumbers() {
  while (!stopping.signal.aborted) {
    // A failed write (the database away for a moment) is told and the writer carries on.
    await writeNumber(store, 1 + Math.floor(Math.random() * 9)).catch((error: unknown) =>
      console.error('hello-world: writing a number failed:', error),
    );
    await sleep(settings.writeEveryMs, undefined, { signal: stopping.signal }).catch(() => {});
  }
}

async function startProductLate() {
  await sleep(settings.productStartsAfterSeconds * 1000, undefined, { signal: stopping.signal });
  await productService.start();
  console.log('hello-world: the product service started, and catches up with the log');
}

await sumService.start();
server.listen(settings.port, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo; // PORT=0 takes a free one
  console.log(
    `hello-world: on ${settings.databaseUrl ? 'PostgreSQL' : 'the embedded PGlite'}, at http://localhost:${port}/`,
  );
  console.log(`hello-world: the product service starts in ${settings.productStartsAfterSeconds} s; Ctrl-C stops`);
});
const writer = settings.writeEveryMs > 0 ? writeNumbers() : Promise.resolve();
const productStart = startProductLate().catch((error: unknown) => {
  if (stopping.signal.aborted) return; // stopped before it was time
  console.error('hello-world: the product service could not start:', error);
  process.exit(1);
});

async function stop() {
  if (stopping.signal.aborted) return;
  console.log('hello-world: stopping');
  stopping.abort();
  server.close();
  server.closeAllConnections();
  await Promise.allSettled([writer, productStart]);
  // Each service finishes the batch in hand and records its position, then the database closes.
  await Promise.all([sumService.stop(), productService.stop()]);
  await db.close();
}

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    process.once(signal, () => process.exit(1)); // a second Ctrl-C does not wait
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('hello-world: stopping failed:', error);
        process.exit(1);
      },
    );
  });
