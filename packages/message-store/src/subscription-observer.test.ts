import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  testSubscriptions,
  eventually,
  exampleMessage,
  uniqueCategory,
  type TestDatabase,
} from './controls/index.js';
import { createMessageStore, type MessageStore } from './store.js';
import {
  messageInHand,
  type BatchHandledInfo,
  type HandledInfo,
  type Logger,
  type MessageInHand,
  type PositionInfo,
  type SubscriptionObserver,
} from './subscription.js';

let test: TestDatabase;
let store: MessageStore;
const subscriptions = testSubscriptions(() => store);
const { subscribe } = subscriptions;

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterEach(() => subscriptions.stopAll());
afterAll(() => test.drop());

/** An observer that keeps everything it is told. */
function recordingObserver() {
  const handled: HandledInfo[] = [];
  const positions: PositionInfo[] = [];
  const idle: PositionInfo[] = [];
  const stopped: string[] = [];
  const observer: SubscriptionObserver = {
    handled: (info) => void handled.push(info),
    position: (info) => void positions.push(info),
    idle: (info) => void idle.push(info),
    stopped: (info) => void stopped.push(info.subscriberId),
  };
  return { observer, handled, positions, idle, stopped };
}

describe('a subscription observer', () => {
  it('is told of every handled message, each position and when the consumer is idle', async () => {
    const category = uniqueCategory();
    const messages = [exampleMessage({ type: 'Handled' }), exampleMessage({ type: 'Other' }), exampleMessage()];
    for (const message of messages) await store.write(`${category}-${randomUUID()}`, message);
    const globalPositions = (await store.read(category)).map((stored) => stored.globalPosition);
    const subscriberId = randomUUID();
    const recorded = recordingObserver();
    const subscription = subscribe({
      streamName: category,
      subscriberId,
      observer: recorded.observer,
      // `SomethingHappened` has no handler: passed over, unreported, but the position moves past it.
      handlers: { Handled: () => {}, Other: () => {} },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();

    expect(recorded.handled.map(({ type, outcome, batchSize }) => ({ type, outcome, batchSize }))).toEqual([
      { type: 'Handled', outcome: 'handled', batchSize: 1 },
      { type: 'Other', outcome: 'handled', batchSize: 1 },
    ]);
    expect(recorded.handled[0]).toMatchObject({
      subscriberId,
      streamName: category,
      member: null,
      messageId: messages[0]!.id,
      traceId: messages[0]!.metadata!.traceId,
    });
    expect(recorded.handled.every((info) => info.durationMs >= 0)).toBe(true);
    const last = globalPositions.at(-1)!;
    // Loaded (0) at start, then one per message.
    expect(recorded.positions.map((info) => info.position)).toEqual([0, ...globalPositions]);
    expect(recorded.positions.at(-1)).toEqual({ subscriberId, streamName: category, member: null, position: last });
    expect(recorded.idle.at(-1)?.position).toBe(last);

    await subscription.stop();
    expect(recorded.stopped).toEqual([subscriberId]);
  });

  it('reports failed attempts, then the parked outcome, and a retry that succeeds', async () => {
    const category = uniqueCategory();
    const poison = exampleMessage({ type: 'Poison' });
    await store.write(`${category}-1`, poison);
    await store.write(`${category}-2`, exampleMessage());
    let cured = false;
    const recorded = recordingObserver();
    const subscription = subscribe({
      streamName: category,
      maxAttempts: 3,
      handlers: {
        $any: (m) => {
          if (m.type === 'Poison' && !cured) throw new Error('cannot handle this');
        },
      },
    });
    // Added after creation, as a composition root does.
    const removeObserver = subscription.observe(recorded.observer);
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(recorded.handled.map(({ type, outcome }) => `${type}:${outcome}`)).toEqual([
      'Poison:failed',
      'Poison:failed',
      'Poison:parked',
      'SomethingHappened:handled',
    ]);

    cured = true;
    await subscription.parkingLot.retry(poison.id);
    await eventually(() => recorded.handled.length === 5);
    expect(recorded.handled[4]).toMatchObject({ messageId: poison.id, outcome: 'handled' });

    removeObserver();
    await store.write(`${category}-3`, exampleMessage());
    await subscription.waitUntilCaughtUp();
    expect(recorded.handled).toHaveLength(5);
  });

  it('reports each message of a batch with the batch size, and a parked one of a failing batch', async () => {
    const category = uniqueCategory();
    for (let index = 0; index < 4; index++) await store.write(`${category}-${index}`, exampleMessage());
    await store.write(`${category}-x`, exampleMessage({ type: 'Poison' }));
    const recorded = recordingObserver();
    const subscription = subscribe({
      streamName: category,
      observer: recorded.observer,
      handleBatch: async (messages) => {
        if (messages.some((message) => message.type === 'Poison')) throw new Error('not this one');
      },
      maxAttempts: 1,
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    // The batch of five fails as a whole, so each is applied alone and only the poison is parked.
    expect(recorded.handled.map(({ type, outcome, batchSize }) => `${type}:${outcome}:${batchSize}`)).toEqual([
      'SomethingHappened:handled:1',
      'SomethingHappened:handled:1',
      'SomethingHappened:handled:1',
      'SomethingHappened:handled:1',
      'Poison:parked:1',
    ]);

    await store.writeBatch(`${category}-more`, [exampleMessage(), exampleMessage(), exampleMessage()]);
    await subscription.waitUntilCaughtUp();
    expect(recorded.handled.slice(5).map(({ outcome, batchSize }) => `${outcome}:${batchSize}`)).toEqual([
      'handled:3',
      'handled:3',
      'handled:3',
    ]);
  });

  it('is told of a batch once, per type, when it listens for batches; the others per message', async () => {
    const category = uniqueCategory();
    await store.writeBatch(`${category}-1`, [exampleMessage(), exampleMessage({ type: 'Other' }), exampleMessage()]);
    const batches: BatchHandledInfo[] = [];
    const perMessage = recordingObserver();
    const subscription = subscribe({
      streamName: category,
      observer: { ...recordingObserver().observer, batchHandled: (info) => void batches.push(info) },
      handleBatch: async () => {},
    });
    subscription.observe(perMessage.observer);
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.batchSize).toBe(3);
    expect([...batches[0]!.types]).toEqual([
      ['SomethingHappened', 2],
      ['Other', 1],
    ]);
    expect(perMessage.handled.map(({ type, batchSize }) => `${type}:${batchSize}`)).toEqual([
      'SomethingHappened:3',
      'Other:3',
      'SomethingHappened:3',
    ]);
  });

  it('costs nothing per message for an observer of positions only (no handled, no batchHandled)', async () => {
    const category = uniqueCategory();
    await store.writeBatch(`${category}-1`, [exampleMessage(), exampleMessage()]);
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (_details, message) => void warnings.push(message), error() {} };
    const positions: number[] = [];
    const positionsOnly: SubscriptionObserver = { position: ({ position }) => void positions.push(position) };
    for (const mode of [{ handleBatch: async () => {} }, { handlers: { $any: () => {} } }]) {
      const subscription = subscribe({ streamName: category, logger, observer: positionsOnly, ...mode });
      await subscription.start();
      await subscription.waitUntilCaughtUp();
    }
    expect(positions.length).toBeGreaterThan(0);
    expect(warnings).toEqual([]);
  });

  it('keeps consuming when an observer throws', async () => {
    const category = uniqueCategory();
    await store.write(`${category}-1`, exampleMessage());
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (_details, message) => void warnings.push(message), error() {} };
    let handled = 0;
    const subscription = subscribe({
      streamName: category,
      logger,
      observer: {
        handled() {
          throw new Error('broken observer');
        },
        position() {},
      },
      handlers: { $any: () => void handled++ },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(handled).toBe(1);
    expect(warnings).toContain('subscription observer failed');
  });
});

describe('the message in hand', () => {
  it('is known to code a handler runs, with the message’s traceId, and logged with a parked message', async () => {
    const category = uniqueCategory();
    const message = exampleMessage({ type: 'Poison' });
    await store.write(`${category}-1`, message);
    const seen: (MessageInHand | undefined)[] = [];
    const errors: object[] = [];
    const logger: Logger = { info() {}, warn() {}, error: (details) => void errors.push(details) };
    const subscriberId = randomUUID();
    const subscription = subscribe({
      streamName: category,
      subscriberId,
      logger,
      maxAttempts: 1,
      handlers: {
        $any: async () => {
          await sleep(1);
          seen.push(messageInHand());
          throw new Error('no');
        },
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(seen).toEqual([
      { subscriberId, member: null, messageId: message.id, type: 'Poison', traceId: message.metadata!.traceId },
    ]);
    expect(messageInHand()).toBeUndefined();
    expect(errors).toEqual([expect.objectContaining({ messageId: message.id, traceId: message.metadata!.traceId })]);
  });
});
