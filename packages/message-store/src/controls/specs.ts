import assert from 'node:assert/strict';
import type { Decision, Nothing, Write } from '../commands.js';
import type { Message, StoredMessage } from '../message.js';
import { ALL_STREAMS } from '../stream-name.js';
import type { MessageStore, Projection } from '../store.js';
import { project, written } from './messages.js';

/** What an error is expected to be: its class, or its message (a pattern or a part of it). */
export type ExpectedError = RegExp | string | (abstract new (...args: never[]) => Error);

/** A message as expected: its type alone, or the fields that matter (`{ type, data: { … } }`). */
export type ExpectedMessage = string | { type: string; id?: string; data?: object; metadata?: object };

const typeOf = (expected: ExpectedMessage) => (typeof expected === 'string' ? expected : expected.type);

/**
 * Given/when/then for a pure decision: given the events of the entity's stream (folded by `projection`), when
 * `command` is decided on, then one message is written, nothing is, or the decision fails.
 */
export function decisionSpec<Entity, Command>(
  projection: Projection<Entity>,
  decide: (entity: Entity, command: Command) => Decision,
) {
  return {
    given: (...events: StoredMessage[]) => ({
      when: (command: Command) => {
        const decided = () => decide(project(projection, events), command);
        return {
          /** The decision writes one message to `streamName` that is as `expected`; returns the decision. */
          then(streamName: string, expected: ExpectedMessage): Write {
            const decision = decided();
            if (decision.kind !== 'write')
              assert.fail(`expected a write to ${streamName}, got nothing: ${decision.reason}`);
            assert.equal(decision.streamName, streamName, 'the stream written to');
            assertMessageIs(decision.message, expected);
            return decision;
          },
          /** The decision writes nothing, for this reason. */
          thenNothing(reason: string): Nothing {
            const decision = decided();
            assert.deepEqual(decision, { kind: 'nothing', reason });
            return decision;
          },
          /** The decision throws this error. */
          thenFails(expected: ExpectedError): Error {
            return caught(decided, expected);
          },
        };
      },
    }),
  };
}

type Handler<Outcome> = (message: StoredMessage) => Promise<Outcome>;

/** What a handler spec found: both outcomes, the handled message as stored, and the streams named in `then`. */
export interface Handled<Outcome> {
  outcomes: [Outcome, Outcome];
  message: StoredMessage;
  streams: Record<string, StoredMessage[]>;
}

/**
 * Given/when/then for a handler against a real store: given messages written, when a message is written and
 * handled twice (as a redelivery does), then the streams hold exactly these messages, and the second
 * handling wrote nothing anywhere.
 */
export function handlerSpec(store: MessageStore) {
  const givens: [string, Message][] = [];
  // Typed by an interface: an inferred type that returns itself is elided to `any` in the built `.d.ts`.
  const spec: GivenWhen<typeof when> = {
    /** Writes `messages` to `streamName` first (in order, before the message handled). */
    given(streamName: string, ...messages: Message[]) {
      for (const message of messages) givens.push([streamName, message]);
      return spec;
    },
    when,
  };
  return spec;

  function when<Outcome>(streamName: string, message: Message, handler: Handler<Outcome>) {
    const handledTwice = async () => {
      for (const [givenStream, given] of givens) await store.write(givenStream, given);
      const handled = await written(store, streamName, message);
      // Everything after the message handled: what handling it wrote (tests of a file run one at a time).
      const writtenSince = () => store.read(ALL_STREAMS, { from: handled.globalPosition + 1, max: 100_000 });
      const first = await settled(() => handler(handled));
      const afterFirst = await writtenSince();
      const second = await settled(() => handler(handled));
      assert.deepEqual(await writtenSince(), afterFirst, 'handling the message again wrote nothing more');
      return { handled, first, second, afterFirst };
    };
    return {
      /** Each stream named holds exactly these messages, in order (only the streams named are read). */
      async then(expected: Record<string, readonly ExpectedMessage[]>): Promise<Handled<Outcome>> {
        const { handled, first, second } = await handledTwice();
        if (first.failed) throw first.error;
        if (second.failed) throw second.error;
        const streams: Record<string, StoredMessage[]> = {};
        for (const [name, messages] of Object.entries(expected)) {
          const stored = await store.read(name);
          assert.deepEqual(
            stored.map((each) => each.type),
            messages.map(typeOf),
            `the types of ${name}`,
          );
          messages.forEach((each, index) => assertMessageIs(stored[index]!, each));
          streams[name] = stored;
        }
        return { outcomes: [first.value, second.value], message: handled, streams };
      },
      /** Both handlings fail with this error and write nothing. */
      async thenFails(expected: ExpectedError): Promise<Error> {
        const { first, second, afterFirst } = await handledTwice();
        assert.deepEqual(afterFirst, [], 'a failed handling wrote nothing');
        for (const each of [first, second]) {
          if (!each.failed) assert.fail('expected the handler to fail');
          caught(() => {
            throw each.error;
          }, expected);
        }
        return (first as { error: Error }).error;
      },
    };
  }
}

/** A handler's specification being written: more givens, or the message handled. */
interface GivenWhen<When> {
  given(streamName: string, ...messages: Message[]): GivenWhen<When>;
  when: When;
}

async function settled<T>(work: () => Promise<T>) {
  try {
    return { failed: false as const, value: await work() };
  } catch (error) {
    return { failed: true as const, error: error as Error };
  }
}

function caught(work: () => unknown, expected: ExpectedError): Error {
  try {
    work();
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    if (typeof expected === 'string')
      assert.ok(error.message.includes(expected), `"${error.message}" has "${expected}"`);
    else if (expected instanceof RegExp) assert.match(error.message, expected);
    else assert.ok(error instanceof expected, `${error.name}: ${error.message} is a ${expected.name}`);
    return error;
  }
  return assert.fail('expected an error, got none');
}

function assertMessageIs(actual: Message, expected: ExpectedMessage) {
  const wanted = typeof expected === 'string' ? { type: expected } : expected;
  assert.deepEqual(picked(actual, wanted), wanted, `${actual.type} ${actual.id}`);
}

/** Of `actual`, only what `expected` names (recursively), so a deep comparison says exactly what differs. */
function picked(actual: unknown, expected: unknown): unknown {
  if (!isPlainObject(expected) || !isPlainObject(actual)) return actual;
  return Object.fromEntries(Object.keys(expected).map((key) => [key, picked(actual[key], expected[key])]));
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
