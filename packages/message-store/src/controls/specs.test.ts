import { AssertionError } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nothing, type Decision } from '../commands.js';
import { InvalidMessageError } from '../errors.js';
import type { StoredMessage } from '../message.js';
import type { MessageStore, Projection } from '../store.js';
import { createTestStore } from './test-store.js';
import { eventually } from './eventually.js';
import { exampleMessage, stored, uniqueStreamName } from './messages.js';
import { decisionSpec, handlerSpec } from './specs.js';

let store: MessageStore;
let drop: () => Promise<void>;
beforeAll(async () => ({ store, drop } = await createTestStore()));
afterAll(() => drop());

describe('eventually', () => {
  it('answers what the condition answered once it holds', async () => {
    let asked = 0;
    expect(await eventually(() => (++asked >= 3 ? `asked ${asked} times` : undefined))).toBe('asked 3 times');
  });

  it('fails after its time, naming what it waited for', async () => {
    await expect(eventually(() => false, { timeoutMs: 30, what: 'the sum' })).rejects.toThrow(
      'the sum not met within 30 ms',
    );
  });
});

/** A light: on or off; `Switch` turns it on unless it is on. */
const light: Projection<{ on: boolean }> = { $init: () => ({ on: false }), SwitchedOn: () => ({ on: true }) };
const streamName = 'light-1';
const switchOn = (entity: { on: boolean }, command: StoredMessage): Decision => {
  if (command.data.broken) throw new InvalidMessageError('Switch', ['broken']);
  if (entity.on) return nothing('already on');
  return { kind: 'write', streamName, message: exampleMessage({ type: 'SwitchedOn', data: { by: command.id } }) };
};
const aSwitch = (data = {}) => stored(exampleMessage({ type: 'Switch', data }), 'light:command-1', 0);

describe('a decision spec', () => {
  const switching = decisionSpec(light, switchOn);

  it('passes when the decision is as expected: a write, nothing or an error', () => {
    const command = aSwitch();
    const decision = switching
      .given()
      .when(command)
      .then(streamName, { type: 'SwitchedOn', data: { by: command.id } });
    switching
      .given(stored(decision.message, streamName, 0))
      .when(aSwitch())
      .thenNothing('already on');
    switching
      .given()
      .when(aSwitch({ broken: true }))
      .thenFails(InvalidMessageError);
  });

  it('fails when it is not', () => {
    const on = stored(exampleMessage({ type: 'SwitchedOn' }), streamName, 0);
    expect(() => switching.given(on).when(aSwitch()).then(streamName, 'SwitchedOn')).toThrow(/got nothing: already on/);
    expect(() => switching.given().when(aSwitch()).then(streamName, 'SwitchedOff')).toThrow(AssertionError);
    expect(() => switching.given().when(aSwitch()).then('light-2', 'SwitchedOn')).toThrow(AssertionError);
    expect(() => switching.given().when(aSwitch()).thenNothing('already on')).toThrow(AssertionError);
    expect(() => switching.given().when(aSwitch()).thenFails(InvalidMessageError)).toThrow('expected an error');
  });
});

describe('a handler spec', () => {
  /** A handler that switches the light in the message's `light` stream on, once. */
  const switchingOn = async (command: StoredMessage) => {
    const lightStream = String(command.data.light);
    const { entity } = await store.fetch(lightStream, light);
    if (entity.on) return 'already on';
    await store.write(lightStream, exampleMessage({ type: 'SwitchedOn' }));
    return 'switched on';
  };

  it('writes the givens, handles the message twice and checks the streams', async () => {
    const lightStream = uniqueStreamName('light');
    const { outcomes, message, streams } = await handlerSpec(store)
      .given(uniqueStreamName('other'), exampleMessage())
      .when(
        uniqueStreamName('light:command'),
        exampleMessage({ type: 'Switch', data: { light: lightStream } }),
        switchingOn,
      )
      .then({ [lightStream]: ['SwitchedOn'] });
    expect(outcomes).toEqual(['switched on', 'already on']);
    expect(message.type).toBe('Switch');
    expect(streams[lightStream]).toHaveLength(1);
  });

  it('fails when the second handling writes again', async () => {
    const lightStream = uniqueStreamName('light');
    const everyTime = async (command: StoredMessage) => {
      await store.write(String(command.data.light), exampleMessage({ type: 'SwitchedOn' }));
    };
    await expect(
      handlerSpec(store)
        .when(
          uniqueStreamName('light:command'),
          exampleMessage({ type: 'Switch', data: { light: lightStream } }),
          everyTime,
        )
        .then({ [lightStream]: ['SwitchedOn', 'SwitchedOn'] }),
    ).rejects.toThrow('handling the message again wrote nothing more');
  });

  it('fails when a stream holds other messages than expected', async () => {
    const lightStream = uniqueStreamName('light');
    const command = exampleMessage({ type: 'Switch', data: { light: lightStream } });
    await expect(
      handlerSpec(store)
        .when(uniqueStreamName('light:command'), command, switchingOn)
        .then({ [lightStream]: [{ type: 'SwitchedOn', data: { by: randomUUID() } }] }),
    ).rejects.toThrow(AssertionError);
  });

  it('checks a handler that fails fails both times and writes nothing', async () => {
    const failing = () => Promise.reject(new InvalidMessageError('Switch', ['no light']));
    const error = await handlerSpec(store)
      .when(uniqueStreamName('light:command'), exampleMessage({ type: 'Switch' }), failing)
      .thenFails(/no light/);
    expect(error).toBeInstanceOf(InvalidMessageError);
    await expect(
      handlerSpec(store)
        .when(uniqueStreamName('light:command'), exampleMessage({ type: 'Switch' }), () => Promise.resolve())
        .thenFails(InvalidMessageError),
    ).rejects.toThrow('expected the handler to fail');
  });
});
