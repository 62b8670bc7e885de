import { randomUUID } from 'node:crypto';
import {
  positionStreamName,
  type Database,
  type Logger,
  type MessageStore,
  type StoredMessage,
} from 'message-db-toolkit';
import { createPgliteDatabase } from 'message-db-toolkit/pglite';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import {
  createFreshPostgresDatabase,
  eventually,
  TEST_POSTGRES_URL,
  type TestDatabase,
  testPgliteTemplate,
} from 'message-db-toolkit/controls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { identityCategory, identityStreamName, Registered } from '../contracts/identity.js';
import { createMetrics } from '../observability/metrics.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { migrateViewData, VIEW_DATA_SEARCH_PATH } from '../view-data/migrations.js';
import { listSubscriberPositions } from './admin-subscriber-positions/index.js';
import { aggregatorSubscription } from './aggregator.js';
import * as userCredentials from './user-credentials/index.js';

/**
 * Aggregators keep their positions in View Data. Here View Data is a database of its own, apart from
 * the message store's (PostgreSQL: a second fresh database; PGlite: a second instance).
 */
let test: TestDatabase & { store: MessageStore };
let viewData: Database;
let dropViewData: () => Promise<void>;
const SUBSCRIBER_ID = 'aggregators:user-credentials';

// Each case its own message store and empty View Data: what one case registers or records is no other's.
beforeEach(async () => {
  test = await createSystemTestDatabase();
  if (TEST_POSTGRES_URL) {
    const fresh = await createFreshPostgresDatabase(TEST_POSTGRES_URL, 'view_data_test');
    const db = createPostgresDatabase({
      connectionString: fresh.connectionString,
      max: 3,
      searchPath: VIEW_DATA_SEARCH_PATH,
    });
    viewData = db;
    dropViewData = async () => {
      await db.close();
      await fresh.drop();
    };
  } else {
    const db = await createPgliteDatabase({
      searchPath: VIEW_DATA_SEARCH_PATH,
      loadDataDir: await testPgliteTemplate(),
    });
    viewData = db;
    dropViewData = () => db.close();
  }
  await migrateViewData(viewData);
}, 180_000); // two databases to set up on a busy machine
afterEach(async () => {
  await dropViewData();
  await test.drop();
});

async function register(count: number): Promise<StoredMessage[]> {
  const written: StoredMessage[] = [];
  for (let index = 0; index < count; index++) {
    const userId = randomUUID();
    const streamName = identityStreamName(userId);
    await test.store.write(
      streamName,
      Registered.create({ userId, email: `user-${userId}@example.com`, passwordHash: 'x' }),
    );
    written.push(...(await test.store.read(streamName)));
  }
  return written;
}

const credentialCount = async () =>
  Number((await viewData.query<{ count: string }>('SELECT count(*) AS count FROM user_credentials'))[0]?.count);
const recordedPosition = async () =>
  Number(
    (
      await viewData.query<{ position: string }>('SELECT position FROM consumer_positions WHERE subscriber_id = $1', [
        SUBSCRIBER_ID,
      ])
    )[0]?.position ?? 0,
  );

/** An older deployment recorded the aggregator's position in the message store after 51 users; then 5 more
 * registered, and the aggregator was started on a new, empty View Data database and caught up. */
async function afterAMoveToNewViewData() {
  const before = await register(51);
  await test.store.write(positionStreamName(SUBSCRIBER_ID), {
    id: randomUUID(),
    type: 'Read',
    data: { position: before.at(-1)!.globalPosition },
  });
  const after = await register(5);
  const piece = userCredentials.build({ store: test.store, viewData });
  await piece.start();
  for (const subscription of piece.subscriptions) await subscription.waitUntilCaughtUp();
  await piece.stop();
  return { before, after };
}

describe('an aggregator whose View Data is in another database', () => {
  it('builds an empty View Data database from position 0, whatever the message store remembers', async () => {
    const { before, after } = await afterAMoveToNewViewData();

    expect(await credentialCount()).toBe(56);
    for (const message of [before[0]!, after.at(-1)!])
      expect(await userCredentials.findCredentialsByEmail(viewData, String(message.data.email))).not.toBeNull();
    expect(await recordedPosition()).toBe(after.at(-1)!.globalPosition);
    // It wrote no position of its own into the message store.
    expect(await test.store.read(positionStreamName(SUBSCRIBER_ID))).toHaveLength(1);
  });

  it('changes nothing when a batch is applied twice', async () => {
    await afterAMoveToNewViewData();
    const messages = await test.store.read(identityCategory, { from: 1, max: 1000 });
    const rows = () => viewData.query('SELECT * FROM user_credentials ORDER BY id');
    const once = await rows();
    await viewData.transaction((tx) => userCredentials.applyIdentityEvents(messages, tx));
    await viewData.transaction((tx) => userCredentials.applyIdentityEvents(messages, tx));
    expect(await rows()).toEqual(once);
  });

  it('reports the position it resumes from (a restored backup’s) to the lag metric and the consumers list', async () => {
    await afterAMoveToNewViewData();
    const messages = await test.store.read(identityCategory, { from: 1, max: 1000 });
    const head = messages.at(-1)!.globalPosition;
    const restored = messages[9]!.globalPosition;
    await viewData.query('UPDATE consumer_positions SET position = $2 WHERE subscriber_id = $1', [
      SUBSCRIBER_ID,
      restored,
    ]);
    // (Read before starting: on PGlite a query waits for the transaction the gate below holds open.)
    expect(
      (await listSubscriberPositions(viewData)).find((entry) => entry.subscriberId === SUBSCRIBER_ID),
    ).toMatchObject({
      streamName: null,
      member: null,
      position: restored,
    });
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let applying = false;
    const subscription = aggregatorSubscription({
      store: test.store,
      viewData,
      streamName: identityCategory,
      subscriberId: SUBSCRIBER_ID,
      apply: async (batch, tx) => {
        applying = true;
        await gate;
        await userCredentials.applyIdentityEvents(batch, tx);
      },
    });
    const metrics = createMetrics({ messageStoreDb: test.db, processMetrics: false });
    subscription.observe(metrics.subscriptionObserver);
    await subscription.start();
    await eventually(() => applying, { intervalMs: 5 });

    const valueOf = async (name: string) =>
      (await metrics.registry.getSingleMetric(name)!.get()).values.find(
        (value) => value.labels.subscriber === SUBSCRIBER_ID,
      )?.value;
    expect(await valueOf('vt_consumer_position')).toBe(restored);
    expect(await valueOf('vt_consumer_lag')).toBe(head - restored);

    release();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    expect(await valueOf('vt_consumer_lag')).toBeUndefined(); // stopped: no longer reported here
    expect(await recordedPosition()).toBe(head);
    expect(await credentialCount()).toBe(56);
  });

  it('logs a message it parks with the logger it was given', async () => {
    const [poison] = await register(1);
    const lines: { message: string; details: object }[] = [];
    const logger: Logger = {
      info: () => {},
      warn: () => {},
      error: (details, message) => void lines.push({ details, message }),
    };
    const subscription = aggregatorSubscription({
      store: test.store,
      viewData,
      streamName: identityCategory,
      subscriberId: SUBSCRIBER_ID,
      logger,
      apply: async (batch, tx) => {
        if (batch.some((message) => message.id === poison!.id)) throw new Error('cannot apply this one');
        await userCredentials.applyIdentityEvents(batch, tx);
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    expect(lines.map((line) => line.message)).toEqual(['message parked']);
    expect(lines[0]?.details).toMatchObject({ messageId: poison!.id, subscriberId: SUBSCRIBER_ID });
    expect(await recordedPosition()).toBe(poison!.globalPosition);
  });
});
