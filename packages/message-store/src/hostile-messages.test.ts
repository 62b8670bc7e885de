import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createTestDatabase, testSubscriptions, uniqueCategory, type TestDatabase } from './controls/index.js';
import { defineMessage, type StoredMessage } from './message.js';
import { createMessageStore, type MessageStore, type Projection } from './store.js';
import { type HandledInfo, type Logger, type SubscriptionOptions } from './subscription.js';

/**
 * Messages anyone can write with Message DB's own `write_message`: types named like Object.prototype's
 * properties, and data or metadata that are not JSON objects.
 */
export const HOSTILE_TYPES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', '$any'];
/** JSON texts (null: SQL NULL) that are not an object. */
const NOT_OBJECTS = [null, 'null', '42', '"text"', '[]'];

let test: TestDatabase;
let store: MessageStore;
const subscriptions = testSubscriptions(() => store);

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
});
afterEach(() => subscriptions.stopAll());
afterAll(() => test.drop());

/** Writes as a third party would: straight through Message DB's function, no toolkit in between. */
async function writeMessage(streamName: string, type: string, data: string | null, metadata: string | null = null) {
  const id = randomUUID();
  await test.db.query('SELECT write_message($1, $2, $3, $4::jsonb, $5::jsonb)', [id, streamName, type, data, metadata]);
  return id;
}

function subscribe(options: Partial<SubscriptionOptions> & Pick<SubscriptionOptions, 'streamName'>) {
  const outcomes: HandledInfo[] = [];
  const subscription = subscriptions.subscribe({
    observer: { handled: (info) => void outcomes.push(info), position() {} },
    ...options,
  });
  return { subscription, outcomes };
}

const Noted = defineMessage('Noted', z.object({ note: z.string().optional() }));

describe('messages with the types of built-in object properties', () => {
  it('have no handler in a handler map that does not name them', async () => {
    const category = uniqueCategory();
    for (const type of HOSTILE_TYPES) await writeMessage(`${category}-1`, type, '{}');
    const last = await writeMessage(`${category}-1`, 'Noted', '{}');
    const noted: string[] = [];
    const { subscription, outcomes } = subscribe({
      streamName: category,
      handlers: { Noted: (m) => noted.push(m.id) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(outcomes.map((outcome) => `${outcome.type}:${outcome.outcome}`)).toEqual(['Noted:handled']);
    expect(noted).toEqual([last]);
    expect(await subscription.parkingLot.list()).toEqual([]);
  });

  it('go to $any, each once, like any other type', async () => {
    const category = uniqueCategory();
    const ids = [];
    for (const type of HOSTILE_TYPES) ids.push(await writeMessage(`${category}-1`, type, '{}'));
    const seen: string[] = [];
    const { subscription, outcomes } = subscribe({
      streamName: category,
      handlers: { Noted: () => {}, $any: (m) => void seen.push(m.id) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(seen).toEqual(ids);
    expect(outcomes.every((outcome) => outcome.outcome === 'handled')).toBe(true);
    expect(outcomes).toHaveLength(HOSTILE_TYPES.length);
  });

  it('record the position past them', async () => {
    const category = uniqueCategory();
    const subscriberId = randomUUID();
    for (const type of HOSTILE_TYPES) await writeMessage(`${category}-1`, type, 'null', '42');
    const [last] = (await store.read(category, { from: 0, max: 1000 })).slice(-1);
    const { subscription } = subscribe({
      streamName: category,
      subscriberId,
      handlers: { Noted: () => {} },
      positionUpdateInterval: 1,
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    const position = await store.readLastMessage(`subscriberPosition-${subscriberId}`);
    expect(position?.data.position).toBe(last!.globalPosition);
  });

  it('leave an entity fetched through a projection unchanged', async () => {
    const streamName = `${uniqueCategory()}-1`;
    const projection: Projection<{ notes: number }> = {
      $init: () => ({ notes: 0 }),
      Noted: (entity) => ({ notes: entity.notes + 1 }),
    };
    await writeMessage(streamName, 'Noted', '{}');
    for (const type of [...HOSTILE_TYPES, '$init', '$snapshot']) await writeMessage(streamName, type, '{}');
    await writeMessage(streamName, 'Noted', '{}');
    expect(await store.fetch(streamName, projection)).toEqual({
      entity: { notes: 2 },
      version: HOSTILE_TYPES.length + 3,
    });
  });
});

describe('stored data and metadata that are not JSON objects', () => {
  it('are read as {} and mark the message malformed, with why', async () => {
    const streamName = `${uniqueCategory()}-1`;
    for (const data of NOT_OBJECTS) await writeMessage(streamName, 'Noted', data);
    await writeMessage(streamName, 'Noted', '{}', null);
    await writeMessage(streamName, 'Noted', '{}', 'null');
    await writeMessage(streamName, 'Noted', '{}', '[1]');
    const read = await store.read(streamName);
    expect(read.map((message) => [message.data, message.metadata, message.malformed])).toEqual([
      [{}, {}, ['data: null, not an object']],
      [{}, {}, ['data: null, not an object']],
      [{}, {}, ['data: a number, not an object']],
      [{}, {}, ['data: a string, not an object']],
      [{}, {}, ['data: an array, not an object']],
      [{}, {}, undefined],
      [{}, {}, undefined],
      [{}, {}, ['metadata: an array, not an object']],
    ]);
    // A schema every field of which is optional would take {}: parse still refuses.
    for (const message of read.slice(0, 5)) expect(Noted.safeParse(message).success).toBe(false);
    expect(() => Noted.parse(read[7]!)).toThrow('metadata: an array, not an object');
    expect(Noted.parse(read[5]!).data).toEqual({});
  });

  it('are parked with the reason by a consumer that parses them, and logged at error level', async () => {
    const category = uniqueCategory();
    const subscriberId = randomUUID();
    const ids: string[] = [];
    for (const data of NOT_OBJECTS) ids.push(await writeMessage(`${category}-1`, 'Noted', data));
    ids.push(await writeMessage(`${category}-1`, 'Noted', '{}', '"text"'));
    const good = await writeMessage(`${category}-1`, 'Noted', '{"note":"fine"}');
    const errors: { details: Record<string, unknown>; message: string }[] = [];
    const logger: Logger = {
      info() {},
      warn() {},
      error: (details, message) => void errors.push({ details: details as Record<string, unknown>, message }),
    };
    const applied: StoredMessage[] = [];
    const { subscription, outcomes } = subscribe({
      streamName: category,
      subscriberId,
      logger,
      handlers: { Noted: (message) => void applied.push(Noted.parse(message)) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(applied.map((message) => message.id)).toEqual([good]);
    expect(outcomes.map((outcome) => outcome.outcome)).toEqual([...ids.map(() => 'parked'), 'handled']);
    const parked = await subscription.parkingLot.list();
    expect(parked.map((message) => message.messageId)).toEqual(ids);
    expect(parked.map((message) => message.attempts)).toEqual(ids.map(() => 1));
    for (const message of parked) expect(message.error).toMatch(/^InvalidMessageError: Invalid Noted message: \w+: /);
    expect(errors.map((line) => line.message)).toEqual(ids.map(() => 'message parked'));
    expect(errors.map(({ details }) => [details.subscriberId, details.messageId, details.type])).toEqual(
      ids.map((messageId) => [subscriberId, messageId, 'Noted']),
    );
    for (const { details } of errors) expect(details.error).toMatch(/not an object/);
  });

  it('never crash a handler that reads data and metadata directly', async () => {
    const category = uniqueCategory();
    for (const data of NOT_OBJECTS) await writeMessage(`${category}-1`, 'Noted', data, data);
    const seen: unknown[] = [];
    const { subscription, outcomes } = subscribe({
      streamName: category,
      handlers: { Noted: (message) => void seen.push([message.data.note, message.metadata.traceId]) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(seen).toEqual(NOT_OBJECTS.map(() => [undefined, undefined]));
    expect(outcomes.every((outcome) => outcome.outcome === 'handled')).toBe(true);
  });
});

describe("a stray record in a consumer's position stream", () => {
  it('neither stops the consumer nor sends it back to the beginning', async () => {
    const category = uniqueCategory();
    const subscriberId = randomUUID();
    await writeMessage(`${category}-1`, 'Noted', '{}');
    await writeMessage(`${category}-1`, 'Noted', '{}');
    const [, second] = await store.read(category, { from: 0, max: 10 });
    await store.write(`subscriberPosition-${subscriberId}`, { id: randomUUID(), type: 'Read', data: { position: 1 } });
    await store.write(`subscriberPosition-${subscriberId}`, {
      id: randomUUID(),
      type: 'Read',
      data: { position: second!.globalPosition },
    });
    for (const data of [null, 'null', '{"position": "abc"}', '{"position": -1}', '{"position": 1.5}'])
      await writeMessage(`subscriberPosition-${subscriberId}`, 'Read', data);
    await writeMessage(`subscriberPosition-${subscriberId}`, 'toString', '{"position": 0}');
    const third = await writeMessage(`${category}-1`, 'Noted', '{}');
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (_details, message) => void warnings.push(message), error() {} };
    const handled: string[] = [];
    const { subscription } = subscribe({
      streamName: category,
      subscriberId,
      logger,
      handlers: { Noted: (message) => void handled.push(message.id) },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    expect(handled).toEqual([third]);
    expect(warnings).toEqual([]);
  });
});
