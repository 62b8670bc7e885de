/**
 * A worker process for lost-connections.test.ts: a consumer kept busy while the test terminates every
 * connection of its database. Writes one JSON line per fact to stdout; stops cleanly on SIGTERM.
 *
 * WORKER_MODE:
 * - `commands`: handles `{category}:command` — each `Do` command becomes `Accepted` + `Done` in `{category}-{id}`,
 *   written in one transaction with expected versions.
 * - `batch`: an aggregator in batch mode — counts every message of `{category}` into `{table}` (deliberately
 *   not idempotent: a batch applied twice shows), in the transaction that records the position.
 * - `group`: like `commands`, as one process of a consumer group of 3 with auto-claimed slots; reports the
 *   time each handler call ran (also the ones that failed), by member slot.
 *
 * Every mode reports each new position at which a member slot found nothing more to read (`idle`).
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { v5 as uuidV5 } from 'uuid';
import { createPostgresDatabase } from './database/postgres.js';
import type { StoredMessage } from './message.js';
import { createMessageStore } from './store.js';
import { id as idOf } from './stream-name.js';
import { createSubscription, messageInHand, type Subscription, type SubscriptionObserver } from './subscription.js';

const NAMESPACE = '6f0c1a52-3d1e-4f7b-8a0e-2b9c4d5e6f70';
const mode = process.env.WORKER_MODE;
const category = process.env.WORKER_CATEGORY!;
const db = createPostgresDatabase({ connectionString: process.env.WORKER_DATABASE_URL!, max: 3 });
const store = createMessageStore({ db });
const say = (fact: object) => process.stdout.write(`${JSON.stringify({ pid: process.pid, ...fact })}\n`);
const now = () => performance.timeOrigin + performance.now();

/**
 * Handles a command once in effect, in one transaction: a command whose events are stored is done; otherwise its
 * events (ids follow from the command's) are written expecting the version read.
 */
async function handleCommand(command: StoredMessage) {
  const started = now();
  const streamName = `${category}-${idOf(command.streamName)}`;
  const eventId = (type: string) => uuidV5(`${command.id}|${type}`, NAMESPACE);
  try {
    await handleInTransaction(command, streamName, eventId);
  } finally {
    // Every attempt, also one that failed: none may overlap another process's on the same slot.
    if (mode === 'group') say({ attempt: command.id, member: messageInHand()?.member, started, ended: now() });
  }
}

async function handleInTransaction(command: StoredMessage, streamName: string, eventId: (type: string) => string) {
  await db.transaction(async (tx) => {
    const [done] = await tx.query('SELECT 1 FROM message_store.messages WHERE id = $1::uuid', [eventId('Done')]);
    if (done) return;
    const [row] = await tx.query<{ version: number | null }>('SELECT message_store.stream_version($1) AS version', [
      streamName,
    ]);
    await sleep(Number(process.env.WORKER_HANDLER_MS ?? 0));
    let version = row?.version === null || row?.version === undefined ? -1 : Number(row.version);
    for (const type of ['Accepted', 'Done'])
      await store.writeInTransaction(
        tx,
        streamName,
        { id: eventId(type), type, data: { commandId: command.id } },
        version++,
      );
  });
}

/** The test waits for these instead of sleeping: a member caught up past its last message handles nothing more. */
const saidIdle = new Map<number | null, number>();
const observer: SubscriptionObserver = {
  position() {},
  idle({ member, position }) {
    if (saidIdle.get(member) === position) return;
    saidIdle.set(member, position);
    say({ idle: position, member });
  },
};

let subscription: Subscription;
if (mode === 'batch') {
  const table = process.env.WORKER_TABLE!;
  subscription = createSubscription({
    store,
    streamName: category,
    subscriberId: `lostConnections:${category}`,
    messagesPerTick: 20,
    tickIntervalMs: 100,
    observer,
    handleBatch: async (messages, tx) => {
      for (const message of messages)
        await tx.query(
          `INSERT INTO ${table} (entity, count) VALUES ($1, 1)
             ON CONFLICT (entity) DO UPDATE SET count = ${table}.count + 1`,
          [idOf(message.streamName)],
        );
    },
  });
} else {
  subscription = createSubscription({
    store,
    streamName: `${category}:command`,
    subscriberId: `lostConnections:${category}`,
    tickIntervalMs: 100,
    observer,
    handlers: { Do: handleCommand },
    ...(mode === 'group' ? { consumerGroup: { size: 3, claim: 'auto' as const, claimIntervalMs: 200 } } : {}),
  });
}

await subscription.start();
say({ ready: true });
let members = '';
const reportMembers = setInterval(() => {
  const now = JSON.stringify(subscription.members());
  if (now !== members) say({ members: JSON.parse((members = now)) as unknown });
}, 50);

process.on('SIGTERM', () => {
  clearInterval(reportMembers);
  void subscription
    .stop()
    .then(() => db.close())
    .then(() => process.exit(0));
});
