/**
 * Catch-up of an upsert aggregator whose View Data is in a separate PostgreSQL database:
 *
 * - baseline, the one-transaction-per-message design: `handlers.$any` runs each message's upsert in
 *   a transaction of its own on the View Data database; the position is a `Read` message in the
 *   message store every 100 messages (the subscription defaults: 100 messages per read);
 * - candidate: `handleBatch` with `positions: tablePositions(viewData)`: each batch (1000 messages)
 *   is one multi-row upsert in a View Data transaction that also records the position.
 *
 * Two fresh databases on the server (dropped at the end), alternating rounds, ratio = baseline time
 * ÷ candidate time (higher is better; target ≥ 5×). A report, not a test: exits 0 once it has run.
 *
 *   npm run bench:separate-view-data -- [--messages 100000] [--rounds 3] [--postgres URL]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createFreshPostgresDatabase } from '../src/controls/database.js';
import {
  createMessageStore,
  createSubscription,
  installMessageDb,
  tablePositions,
  type Database,
  type MessageStore,
  type StoredMessage,
  type SubscriptionOptions,
} from '../src/index.js';
import { createPostgresDatabase } from '../src/postgres.js';
import { alternate, formatMs, formatNumber, formatRatio, median, now, progress } from './harness.js';

const HELP = `Usage: npm run bench:separate-view-data -- [options]

Catch-up of an upsert aggregator whose View Data is in a separate PostgreSQL database:
one transaction per message (position in the message store) vs batches applied in the
View Data transaction that records the position. Alternating rounds; prints the ratio.

Options:
  --messages N    Messages to catch up on (default 100000).
  --rounds N      Alternating rounds (default 3).
  --postgres URL  Server to create the two databases on
                  (default: $BENCH_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres).
  --help          Show this help.
`;

const TARGET = 5;
const STREAMS = 50;

const UPSERT_ONE_SQL = `INSERT INTO bench_counts AS counts (stream_name, count, last_global_position)
  VALUES ($1, 1, $2)
  ON CONFLICT (stream_name) DO UPDATE
    SET count = counts.count + 1, last_global_position = EXCLUDED.last_global_position
    WHERE counts.last_global_position < EXCLUDED.last_global_position`;

const UPSERT_MANY_SQL = `INSERT INTO bench_counts AS counts (stream_name, count, last_global_position)
  SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[])
  ON CONFLICT (stream_name) DO UPDATE
    SET count = counts.count + EXCLUDED.count, last_global_position = EXCLUDED.last_global_position
    WHERE counts.last_global_position < EXCLUDED.last_global_position`;

function settings() {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      messages: { type: 'string' },
      rounds: { type: 'string' },
      postgres: { type: 'string' },
    },
    strict: true,
  });
  if (values.help) return null;
  const positive = (flag: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!Number.isInteger(number) || number <= 0) throw new Error(`--${flag} needs a positive integer, not "${value}"`);
    return number;
  };
  return {
    messages: positive('messages', values.messages, 100_000),
    rounds: positive('rounds', values.rounds, 3),
    postgresUrl: values.postgres ?? process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}

async function seed(store: MessageStore, db: Database, category: string, total: number) {
  const line = progress('writing messages');
  for (let written = 0, batch = 0; written < total; batch++) {
    const size = Math.min(100, total - written);
    const messages = Array.from({ length: size }, (_, index) => ({
      id: randomUUID(),
      type: 'SomethingHappened',
      data: { index: written + index },
      metadata: { traceId: randomUUID() },
    }));
    await store.writeBatch(`${category}-${batch % STREAMS}`, messages);
    written += size;
    line.update(written, total);
  }
  line.done('');
  await db.exec('ANALYZE message_store.messages');
}

async function catchUp(
  viewData: Database,
  label: string,
  options: SubscriptionOptions,
  handled: () => number,
  total: number,
) {
  await viewData.exec('TRUNCATE bench_counts');
  const line = progress(label);
  const stopPolling = line.poll(handled, total);
  const subscription = createSubscription(options);
  try {
    const started = now();
    await subscription.start();
    await subscription.waitUntilCaughtUp({ timeoutMs: 3_600_000 });
    await subscription.stop();
    const ms = now() - started;
    line.done(`${formatNumber((total * 1000) / ms)} msg/s`);
    const [row] = await viewData.query<{ total: string | null }>('SELECT sum(count) AS total FROM bench_counts');
    if (Number(row?.total) !== total) throw new Error(`${label}: counted ${row?.total}, expected ${total}`);
    return ms;
  } finally {
    stopPolling();
    await subscription.stop().catch(() => {});
  }
}

async function main() {
  const options = settings();
  if (!options) {
    process.stdout.write(HELP);
    return;
  }
  const { messages: total, rounds, postgresUrl } = options;
  const messageStoreDatabase = await createFreshPostgresDatabase(postgresUrl, 'message_store_bench');
  const viewDataDatabase = await createFreshPostgresDatabase(postgresUrl, 'view_data_bench');
  const messageStoreDb = createPostgresDatabase({ connectionString: messageStoreDatabase.connectionString, max: 4 });
  const viewData = createPostgresDatabase({ connectionString: viewDataDatabase.connectionString, max: 4 });
  // Interrupted: drop the two databases all the same.
  const dropOnSignal = () => {
    void Promise.allSettled([messageStoreDatabase.drop(), viewDataDatabase.drop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', dropOnSignal).once('SIGTERM', dropOnSignal);
  try {
    await installMessageDb(messageStoreDb);
    const store = createMessageStore({ db: messageStoreDb });
    await viewData.exec(`CREATE TABLE bench_counts (
      stream_name text PRIMARY KEY,
      count int NOT NULL,
      last_global_position bigint NOT NULL
    )`);
    const positions = tablePositions(viewData, { table: 'bench_positions' });
    await positions.ensure();
    const category = `benchSeparate${randomBytes(4).toString('hex')}`;
    await seed(store, messageStoreDb, category, total);

    const perMessage = async (round: number) => {
      let handled = 0;
      return catchUp(
        viewData,
        `one transaction per message, round ${round + 1}/${rounds}`,
        {
          store,
          streamName: category,
          subscriberId: `benchOne${round}x${randomBytes(4).toString('hex')}`,
          wakeUps: false,
          handlers: {
            $any: async (message: StoredMessage) => {
              await viewData.transaction((tx) =>
                tx.query(UPSERT_ONE_SQL, [message.streamName, message.globalPosition]),
              );
              handled++;
            },
          },
        },
        () => handled,
        total,
      );
    };
    const batches = async (round: number) => {
      let handled = 0;
      return catchUp(
        viewData,
        `batches with the position in View Data, round ${round + 1}/${rounds}`,
        {
          store,
          streamName: category,
          subscriberId: `benchBatch${round}x${randomBytes(4).toString('hex')}`,
          wakeUps: false,
          positions,
          handleBatch: async (batch, tx) => {
            const byStream = new Map<string, { count: number; last: number }>();
            for (const message of batch) {
              const entry = byStream.get(message.streamName) ?? { count: 0, last: 0 };
              entry.count++;
              entry.last = Math.max(entry.last, message.globalPosition);
              byStream.set(message.streamName, entry);
            }
            const entries = [...byStream];
            await tx.query(UPSERT_MANY_SQL, [
              entries.map(([stream]) => stream),
              entries.map(([, { count }]) => count),
              entries.map(([, { last }]) => last),
            ]);
            handled += batch.length;
          },
        },
        () => handled,
        total,
      );
    };

    const result = await alternate(rounds, perMessage, batches, (baseline, candidate) => baseline / candidate);
    const ratio = median(result.ratios);
    const time = (ms: number) => `${formatMs(ms)} (${formatNumber((total * 1000) / ms)} msg/s)`;
    process.stdout.write(
      [
        `Catch-up of ${formatNumber(total)} messages (${STREAMS} streams of one category) by an upsert aggregator,`,
        `View Data in a separate PostgreSQL database (${viewDataDatabase.name}) from the message store (${messageStoreDatabase.name}).`,
        `  one transaction per message, position in the message store: ${time(median(result.baseline))}`,
        `  batches, position in the View Data transaction:             ${time(median(result.candidate))}`,
        `  ratio ${formatRatio(ratio)} (target ≥ ${formatRatio(TARGET)}: ${ratio >= TARGET ? 'pass' : 'FAIL'})`,
        `  rounds (alternating): baseline ${result.baseline.map(formatMs).join(', ')}; candidate ${result.candidate.map(formatMs).join(', ')}; ratios ${result.ratios.map((each) => formatRatio(each)).join(', ')}`,
        '',
      ].join('\n'),
    );
  } finally {
    await messageStoreDb.close().catch(() => {});
    await viewData.close().catch(() => {});
    await messageStoreDatabase.drop();
    await viewDataDatabase.drop();
  }
}

await main();
