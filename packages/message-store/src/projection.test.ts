import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { createTestStore, project, stored, uniqueStreamName } from './controls/index.js';
import { InvalidMessageError } from './errors.js';
import { defineMessage, type StoredMessage } from './message.js';
import { defineProjection } from './projection.js';
import { snapshotStreamName, type MessageStore } from './store.js';

let store: MessageStore;
let drop: () => Promise<void>;
beforeAll(async () => ({ store, drop } = await createTestStore()));
afterAll(() => drop());

/** Counts the parses of `Deposited` data: its schema's transform runs once per parse. */
let depositParses = 0;
const Deposited = defineMessage(
  'Deposited',
  z
    .object({ amount: z.number().positive() })
    .transform((data) => (depositParses++, { ...data, cents: Math.round(data.amount * 100) })),
);
const Withdrawn = defineMessage('Withdrawn', z.object({ amount: z.number().positive() }));

interface Account {
  balanceInCents: number;
  closed: boolean;
}

const accountProjection = defineProjection<Account>(() => ({ balanceInCents: 0, closed: false }))
  .on(Deposited, (account, event) => ({ ...account, balanceInCents: account.balanceInCents + event.data.cents }))
  .on(Withdrawn, (account, event) => ({
    ...account,
    balanceInCents: account.balanceInCents - Math.round(event.data.amount * 100),
  }))
  .on('Closed', (account) => ({ ...account, closed: true }))
  .build();

const deposit = (amount: number) => Deposited.create({ amount });
const closed = (data: Record<string, unknown> = {}) => ({ id: randomUUID(), type: 'Closed', data });

describe('defineProjection', () => {
  it("types a reducer's event by its message definition, and a type name's as read", () => {
    defineProjection(() => 0)
      .on(Deposited, (sum, event) => {
        expectTypeOf(event).toEqualTypeOf<StoredMessage<'Deposited', { amount: number; cents: number }>>();
        // @ts-expect-error: Deposited's data has no `reason`
        void event.data.reason;
        return sum + event.data.cents;
      })
      .on('Closed', (sum, event) => {
        expectTypeOf(event).toEqualTypeOf<StoredMessage>();
        return sum;
      });
    // @ts-expect-error: a reducer gives back the entity
    defineProjection(() => 0).on(Deposited, () => 'not a number');
  });

  it('builds the plain projection `project` and `fetch` take, parsing each event once before its reducer', () => {
    const streamName = uniqueStreamName();
    const events = [deposit(10), deposit(2.5), Withdrawn.create({ amount: 1 }), closed()].map((message, position) =>
      stored(message, streamName, position),
    );
    const before = depositParses;
    expect(project(accountProjection, events)).toEqual({ balanceInCents: 1150, closed: true });
    expect(depositParses - before).toBe(2);
  });

  it("throws InvalidMessageError for a definition's event whose data fails its schema, as its own parse would", () => {
    const streamName = uniqueStreamName();
    const invalid = stored({ id: randomUUID(), type: 'Deposited', data: { amount: -5 } }, streamName, 0);
    expect(() => project(accountProjection, [invalid])).toThrow(InvalidMessageError);
    expect(() => project(accountProjection, [invalid])).toThrow(/amount/);
    const malformed = { ...stored(deposit(1), streamName, 0), malformed: ['data: null, not an object'] };
    expect(() => project(accountProjection, [malformed])).toThrow(InvalidMessageError);
  });

  it("accepts a type name's event whatever its data (its reducer reads none)", () => {
    const streamName = uniqueStreamName();
    const hostile = {
      ...stored(closed({ anything: [1] }), streamName, 0),
      malformed: ['data: an array, not an object'],
    };
    expect(project(accountProjection, [hostile])).toEqual({ balanceInCents: 0, closed: true });
  });

  it('refuses a type registered twice, by definition or by name, and types starting with $', () => {
    const base = defineProjection(() => 0).on(Deposited, (sum) => sum);
    expect(() => base.on(Deposited, (sum) => sum)).toThrow('already has a reducer for Deposited');
    expect(() => base.on('Deposited', (sum) => sum)).toThrow('already has a reducer for Deposited');
    expect(() => base.on('$init', (sum) => sum)).toThrow(/\$init.*never reduced/);
    expect(() => base.on(defineMessage('$any', z.object({})), (sum) => sum)).toThrow(/\$any/);
    expect(() => base.snapshot({ every: 1, version: 'v1' }).snapshot({ every: 2, version: 'v2' })).toThrow(
      'already has its snapshot settings',
    );
  });

  it('leaves a builder as it was when another is made from it', () => {
    const base = defineProjection(() => 0).on(Deposited, (sum, event) => sum + event.data.cents);
    const counted = base.on(Withdrawn, (sum) => sum - 1);
    expect(Object.keys(base.build())).toEqual(['$init', 'Deposited']);
    expect(Object.keys(counted.build())).toEqual(['$init', 'Deposited', 'Withdrawn']);
    expect(() => base.on(Withdrawn, (sum) => sum)).not.toThrow();
  });

  it('gives type names like Object.prototype properties reducers of their own', () => {
    const projection = defineProjection(() => 0)
      .on('__proto__', (count) => count + 1)
      .on('toString', (count) => count + 10)
      .build();
    expect(Object.getPrototypeOf(projection)).toBe(Object.prototype);
    const streamName = uniqueStreamName();
    const events = ['__proto__', 'toString', 'valueOf'].map((type, position) =>
      stored({ id: randomUUID(), type, data: {} }, streamName, position),
    );
    expect(project(projection, events)).toBe(11);
  });
});

describe('a built projection in fetch', () => {
  it('folds a stored stream, parsing each event once', async () => {
    const streamName = uniqueStreamName();
    await store.writeBatch(streamName, [deposit(10), deposit(5), Withdrawn.create({ amount: 3 }), closed()]);
    const before = depositParses;
    expect(await store.fetch(streamName, accountProjection)).toEqual({
      entity: { balanceInCents: 1200, closed: true },
      version: 3,
    });
    expect(depositParses - before).toBe(2);
  });

  it('throws InvalidMessageError for a stored event whose data fails its definition', async () => {
    const streamName = uniqueStreamName();
    await store.writeBatch(streamName, [deposit(10), { id: randomUUID(), type: 'Deposited', data: { amount: 'ten' } }]);
    await expect(store.fetch(streamName, accountProjection)).rejects.toThrow(InvalidMessageError);
  });

  it('snapshots with .snapshot(settings) and starts from the snapshot', async () => {
    const streamName = uniqueStreamName();
    const snapshotted = defineProjection(() => 0)
      .on(Deposited, (sum, event) => sum + event.data.cents)
      .snapshot({ every: 3, version: 'v1' })
      .build();
    await store.writeBatch(streamName, [deposit(1), deposit(2), deposit(3)]);
    expect(await store.fetch(streamName, snapshotted)).toEqual({ entity: 600, version: 2 });
    expect((await store.readLastMessage(snapshotStreamName(streamName)))?.data).toMatchObject({
      entity: 600,
      streamVersion: 2,
      projectionVersion: 'v1',
    });
    await store.write(streamName, deposit(4));
    const before = depositParses;
    expect(await store.fetch(streamName, snapshotted)).toEqual({ entity: 1000, version: 3 });
    expect(depositParses - before).toBe(1); // only the event after the snapshot was read and parsed
  });
});
