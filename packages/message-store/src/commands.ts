import { v5 as uuidV5 } from 'uuid';
import { VersionConflictError } from './errors.js';
import { follow, type Message, type StoredMessage } from './message.js';
import type { MessageStore, Projection } from './store.js';
import type { Logger } from './subscription.js';

/** A decision to write one message to one stream. */
export type Write = { kind: 'write'; streamName: string; message: Message };
/** A decision to write nothing, with why (a repeat, a rule that does not apply). */
export type Nothing = { kind: 'nothing'; reason: string };
/** What a pure decision function answers. */
export type Decision = Write | Nothing;

export const nothing = (reason: string): Nothing => ({ kind: 'nothing', reason });

/** What carrying out a decision did: the message written and where, or nothing with why. */
export type Outcome = { kind: 'written'; streamName: string; type: string; position: number } | Nothing;

/** Decisions made before the runner gives up on a message whose stream keeps changing. */
export const DEFAULT_DECISIONS_PER_MESSAGE = 3;

/**
 * The stream a decision was about changed every time the decision was made again: the runner gave up (a
 * subscription then retries the message later or parks it). `cause` is the last `VersionConflictError`.
 */
export class StreamKeptChangingError extends Error {
  override readonly name = 'StreamKeptChangingError';
  constructor(
    readonly messageId: string,
    readonly streamName: string,
    readonly decisions: number,
    options: { cause: VersionConflictError },
  ) {
    super(`Stream ${streamName} changed during each of ${decisions} decisions on message ${messageId}`, options);
  }
}

export interface DeciderOptions {
  store: MessageStore;
  /** Who decides, for the log (`identity`, `video-publishing`). */
  name: string;
  logger: Logger;
  /** Decisions per message before `StreamKeptChangingError`; default 3. */
  decisions?: number;
}

/**
 * Command handling as load → decide → write, with the decision made again on the new state when the stream
 * changed in between. The projection is the evolve function; `decide` is pure.
 */
export function createDecider({ store, name, logger, decisions = DEFAULT_DECISIONS_PER_MESSAGE }: DeciderOptions) {
  if (!Number.isInteger(decisions) || decisions < 1) throw new Error('a decider needs decisions of 1 or more');

  /**
   * Writes what was decided: with `expectedVersion` for the stream the decision was made on, without one for
   * another component's commands (their ids, derived from the cause, make a repeat a no-op).
   */
  async function carryOut(decision: Decision, expectedVersion?: number | null): Promise<Outcome> {
    if (decision.kind === 'nothing') return decision;
    const { streamName, message } = decision;
    const { position, alreadyWritten } = await store.write(streamName, message, expectedVersion);
    if (alreadyWritten) return nothing(`${message.type} ${message.id} already written`);
    return { kind: 'written', streamName, type: message.type, position };
  }

  /**
   * Runs `attempt` (its loads, decisions and writes) again whenever one of its writes meets a
   * `VersionConflictError`. When another instance handled the same message, the new decision sees its event
   * and does nothing; when something else was written meanwhile, the new decision takes it into account.
   */
  async function decidingAgainOnConflict<T>(cause: StoredMessage, attempt: () => Promise<T>): Promise<T> {
    for (let decision = 1; ; decision++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof VersionConflictError)) throw error;
        if (decision >= decisions)
          throw new StreamKeptChangingError(cause.id, error.streamName, decision, { cause: error });
        logger.info(
          { messageId: cause.id, type: cause.type, streamName: error.streamName },
          `${name}: stream changed while deciding; deciding again`,
        );
      }
    }
  }

  /**
   * The whole loop for a decision made on one entity: `streamName` fetched with `projection`, `decide` called
   * on the entity, the decision written (with the version decided on when it writes to that stream).
   */
  function decideOn<Entity>(
    cause: StoredMessage,
    streamName: string,
    projection: Projection<Entity>,
    decide: (entity: Entity) => Decision,
  ): Promise<Outcome> {
    return decidingAgainOnConflict(cause, async () => {
      const { entity, version } = await store.fetch(streamName, projection);
      const decision = decide(entity);
      return carryOut(decision, decision.kind === 'write' && decision.streamName === streamName ? version : null);
    });
  }

  return { carryOut, decidingAgainOnConflict, decideOn };
}

export type Decider = ReturnType<typeof createDecider>;

/** What `doOnce` did; `result` is what the work answered, `message` the outcome made of it. */
export type DoneOnce<Entity, Result> =
  /** The entity was settled already: no work was done. */
  | { kind: 'settled'; entity: Entity }
  /** The work was done and its outcome written. */
  | { kind: 'written'; result: Result; message: Message; position: number }
  /** The work was done again (a handler that worked at the same time wrote this outcome first). */
  | { kind: 'alreadyWritten'; result: Result; message: Message; position: number }
  /** Another handler recorded a different outcome first (after working at the same time): this one is dropped. */
  | { kind: 'recordedByAnother'; result: Result; message: Message };

export interface DoOnce<Entity, Result> {
  /** The command the work is for: the outcome follows it and its id is derived from it. */
  cause: StoredMessage;
  /** The stream the outcome goes to, and the projection telling whether it holds one. */
  streamName: string;
  projection: Projection<Entity>;
  isSettled: (entity: Entity) => boolean;
  /** The work itself (sending, transcoding): it may run again if a stop comes between it and the write. */
  work: () => Promise<Result>;
  /** The event recording the result; its id is replaced by one derived from the cause and its type. */
  outcome: (result: Result) => Message;
  /** Namespace of the derived ids, one per component (ids of outcomes written before stay the same). */
  namespace: string;
  /**
   * Told when no work was done (with the entity's `status`, if it has one) or its outcome was not written:
   * `what` names the work (`e-mail`), `details` say which (`{ emailId }`).
   */
  logger: Logger;
  what: string;
  details: object;
}

/**
 * "Do once": already settled? → work → write the outcome. The outcome is written with the version the work was
 * decided on, so of two handlers working at once only the first records one; its id comes from the cause, so a
 * write repeated after a stop is recognized instead of recorded twice.
 */
export async function doOnce<Entity, Result>(
  store: MessageStore,
  { cause, streamName, projection, isSettled, work, outcome, namespace, logger, what, details }: DoOnce<Entity, Result>,
): Promise<DoneOnce<Entity, Result>> {
  const { entity, version } = await store.fetch(streamName, projection);
  if (isSettled(entity)) {
    const status = typeof entity === 'object' && entity !== null && 'status' in entity ? entity.status : undefined;
    logger.info({ ...details, status }, `${what} already settled; nothing to do`);
    return { kind: 'settled', entity };
  }
  const result = await work();
  const event = outcome(result);
  const message = follow(cause, { ...event, id: outcomeId(cause, event.type, namespace) });
  try {
    const { position, alreadyWritten } = await store.write(streamName, message, version);
    if (!alreadyWritten) return { kind: 'written', result, message, position };
    logger.info({ ...details, outcome: message.type }, 'this outcome was already recorded');
    return { kind: 'alreadyWritten', result, message, position };
  } catch (error) {
    if (!(error instanceof VersionConflictError)) throw error;
    logger.info({ ...details, outcome: message.type }, `another instance recorded this ${what} first`);
    return { kind: 'recordedByAnother', result, message };
  }
}

/** The id of the outcome of `type` for `cause`: the same on every attempt. */
export const outcomeId = (cause: { id: string }, type: string, namespace: string): string =>
  uuidV5(`${cause.id}|${type}`, namespace);
