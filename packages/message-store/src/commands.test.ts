import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecider, doOnce, nothing, outcomeId, StreamKeptChangingError, type Decision } from './commands.js';
import { createTestStore, exampleMessage, uniqueStreamName, written } from './controls/index.js';
import { VersionConflictError } from './errors.js';
import type { Message, StoredMessage } from './message.js';
import type { MessageStore, Projection } from './store.js';
import type { Logger } from './subscription.js';

let store: MessageStore;
let drop: () => Promise<void>;
beforeAll(async () => ({ store, drop } = await createTestStore()));
afterAll(() => drop());

/** A tally: how many `Counted` events its stream holds. */
const tally: Projection<{ count: number }> = {
  $init: () => ({ count: 0 }),
  Counted: (entity) => ({ count: entity.count + 1 }),
};
const counted = (count: number): Message => exampleMessage({ type: 'Counted', data: { count } });

function recordingLogger() {
  const infos: { details: object; message: string }[] = [];
  const logger: Logger = { info: (details, message) => infos.push({ details, message }), warn() {}, error() {} };
  return { logger, infos };
}

async function aCause(): Promise<StoredMessage> {
  return written(store, uniqueStreamName('counting:command'), exampleMessage({ type: 'Count' }));
}

describe('a decider', () => {
  it('decides again on the new state when another writer wrote to the stream in between', async () => {
    const streamName = uniqueStreamName('counting');
    const { logger, infos } = recordingLogger();
    const decider = createDecider({ store, name: 'counting', logger });
    const seen: number[] = [];
    const cause = await aCause();

    const outcome = await decider.decideOn(cause, streamName, tally, ({ count }): Decision => {
      seen.push(count);
      // Between this decision's load and its write, another writer counts first.
      if (seen.length === 1) void store.write(streamName, counted(1));
      return { kind: 'write', streamName, message: counted(count + 1) };
    });

    expect(seen).toEqual([0, 1]);
    expect(outcome).toEqual({ kind: 'written', streamName, type: 'Counted', position: 1 });
    expect((await store.read(streamName)).map((event) => event.data.count)).toEqual([1, 2]);
    expect(infos).toEqual([
      {
        details: { messageId: cause.id, type: 'Count', streamName },
        message: 'counting: stream changed while deciding; deciding again',
      },
    ]);
  });

  it('of two handlers deciding at once, each decision counts: the later one is made on the earlier one’s event', async () => {
    const streamName = uniqueStreamName('counting');
    const decider = createDecider({ store, name: 'counting', logger: recordingLogger().logger });
    const cause = await aCause();
    const countOnce = () =>
      decider.decideOn(cause, streamName, tally, ({ count }) => ({
        kind: 'write',
        streamName,
        message: counted(count + 1),
      }));

    await Promise.all([countOnce(), countOnce(), countOnce()]);

    expect((await store.read(streamName)).map((event) => event.data.count)).toEqual([1, 2, 3]);
  });

  it('gives up after its decisions with an error naming the message and the stream', async () => {
    const streamName = uniqueStreamName('counting');
    const { logger, infos } = recordingLogger();
    const decider = createDecider({ store, name: 'counting', logger, decisions: 3 });
    const cause = await aCause();
    let decisions = 0;

    const error = await decider
      .decideOn(cause, streamName, tally, ({ count }): Decision => {
        decisions++;
        void store.write(streamName, counted(count + 1)); // the stream changes every time
        return { kind: 'write', streamName, message: counted(count + 1) };
      })
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StreamKeptChangingError);
    expect(error).toMatchObject({ messageId: cause.id, streamName, decisions: 3 });
    expect((error as Error).message).toBe(
      `Stream ${streamName} changed during each of 3 decisions on message ${cause.id}`,
    );
    expect((error as Error).cause).toBeInstanceOf(VersionConflictError);
    expect(decisions).toBe(3);
    expect(infos).toHaveLength(2);
  });

  it('writes to another stream without an expected version, and a repeat of the same message is nothing', async () => {
    const streamName = uniqueStreamName('counting');
    const elsewhere = uniqueStreamName('other:command');
    await store.write(elsewhere, exampleMessage());
    const decider = createDecider({ store, name: 'counting', logger: recordingLogger().logger });
    const cause = await aCause();
    const message = exampleMessage({ type: 'DoSomething' });
    const decide = (): Decision => ({ kind: 'write', streamName: elsewhere, message });

    const first = await decider.decideOn(cause, streamName, tally, decide);
    const second = await decider.decideOn(cause, streamName, tally, decide);

    expect(first).toEqual({ kind: 'written', streamName: elsewhere, type: 'DoSomething', position: 1 });
    expect(second).toEqual(nothing(`DoSomething ${message.id} already written`));
  });

  it('passes other errors on at once, and a decision of nothing writes nothing', async () => {
    const streamName = uniqueStreamName('counting');
    const decider = createDecider({ store, name: 'counting', logger: recordingLogger().logger });
    const cause = await aCause();
    let decisions = 0;
    await expect(
      decider.decideOn(cause, streamName, tally, () => {
        decisions++;
        throw new Error('broken rule');
      }),
    ).rejects.toThrow('broken rule');
    expect(decisions).toBe(1);
    expect(await decider.decideOn(cause, streamName, tally, () => nothing('already counted'))).toEqual(
      nothing('already counted'),
    );
    expect(await store.read(streamName)).toEqual([]);
  });
});

describe('do once', () => {
  const NAMESPACE = '0b8e6c1a-57f2-4d0e-9c7b-3e2a1f4d5c60';
  type Work = { status: 'new' | 'done' };
  const workProjection: Projection<Work> = { $init: () => ({ status: 'new' }), Done: () => ({ status: 'done' }) };

  /** Work that finishes only once `parties` handlers are working: each of them loaded before any writes. */
  function together(parties: number) {
    let arrived = 0;
    let release = () => {};
    const all = new Promise<void>((resolve) => (release = resolve));
    return async () => {
      if (++arrived >= parties) release();
      await all;
    };
  }

  function aJob(cause: StoredMessage, streamName: string, finishing: () => Promise<void> = async () => {}) {
    let worked = 0;
    const { logger, infos } = recordingLogger();
    const job = (on: MessageStore = store) =>
      doOnce(on, {
        cause,
        streamName,
        projection: workProjection,
        isSettled: (work) => work.status === 'done',
        work: async () => {
          const run = ++worked;
          await finishing();
          return run;
        },
        outcome: (run) => ({ id: randomUUID(), type: 'Done', data: { run } }),
        namespace: NAMESPACE,
        logger,
        what: 'job',
        details: { jobId: cause.id },
      });
    return { job, worked: () => worked, infos };
  }

  it('works and writes the outcome, following the command, with an id derived from it', async () => {
    const cause = await aCause();
    const streamName = uniqueStreamName('work');
    const { job, worked } = aJob(cause, streamName);

    const done = await job();

    expect(done).toMatchObject({ kind: 'written', position: 0 });
    const [outcome] = await store.read(streamName);
    expect(outcome).toMatchObject({
      id: outcomeId(cause, 'Done', NAMESPACE),
      type: 'Done',
      data: { run: 1 },
      metadata: { causationMessageStreamName: cause.streamName, traceId: cause.metadata.traceId },
    });
    expect(worked()).toBe(1);
  });

  it('a second call does no work', async () => {
    const cause = await aCause();
    const streamName = uniqueStreamName('work');
    const { job, worked, infos } = aJob(cause, streamName);

    await job();
    const again = await job();

    expect(again).toEqual({ kind: 'settled', entity: { status: 'done' } });
    expect(infos).toEqual([
      { details: { jobId: cause.id, status: 'done' }, message: 'job already settled; nothing to do' },
    ]);
    expect(worked()).toBe(1);
    expect(await store.read(streamName)).toHaveLength(1);
  });

  it('a stop between the work and the write does the work again and writes one outcome', async () => {
    const cause = await aCause();
    const streamName = uniqueStreamName('work');
    const { job, worked } = aJob(cause, streamName);
    // The process stops after the work: its write never reaches the store.
    const stopping: MessageStore = {
      ...store,
      write: () => Promise.reject(new Error('the process stopped')),
    };

    await expect(job(stopping)).rejects.toThrow('the process stopped');
    expect(await store.read(streamName)).toEqual([]);
    const redelivered = await job();

    expect(worked()).toBe(2);
    expect(redelivered).toMatchObject({ kind: 'written', position: 0 });
    expect((await store.read(streamName)).map((event) => event.data)).toEqual([{ run: 2 }]);
  });

  it('the same command handled twice at once: both work, the derived id stores one outcome', async () => {
    const cause = await aCause();
    const streamName = uniqueStreamName('work');
    const { job, worked, infos } = aJob(cause, streamName, together(2));

    const done = await Promise.all([job(), job()]);

    expect(infos).toEqual([
      { details: { jobId: cause.id, outcome: 'Done' }, message: 'this outcome was already recorded' },
    ]);
    expect(worked()).toBe(2);
    expect(done.map((each) => each.kind).sort()).toEqual(['alreadyWritten', 'written']);
    expect(await store.read(streamName)).toHaveLength(1);
  });

  it('of two handlers working at once, only the first outcome is recorded', async () => {
    const cause = await aCause();
    const streamName = uniqueStreamName('work');
    const finishing = together(2);
    const first = aJob(cause, streamName, finishing);
    const second = aJob(await aCause(), streamName, finishing);

    const done = await Promise.all([first.job(), second.job()]);

    expect(done.map((each) => each.kind).sort()).toEqual(['recordedByAnother', 'written']);
    expect([...first.infos, ...second.infos].map((each) => each.message)).toEqual([
      'another instance recorded this job first',
    ]);
    expect(await store.read(streamName)).toHaveLength(1);
  });

  it('a derived id is the same on every attempt and differs by type and cause', () => {
    const cause = { id: randomUUID() };
    expect(outcomeId(cause, 'Done', NAMESPACE)).toBe(outcomeId({ ...cause }, 'Done', NAMESPACE));
    expect(outcomeId(cause, 'Done', NAMESPACE)).not.toBe(outcomeId(cause, 'Failed', NAMESPACE));
    expect(outcomeId(cause, 'Done', NAMESPACE)).not.toBe(outcomeId({ id: randomUUID() }, 'Done', NAMESPACE));
  });
});
