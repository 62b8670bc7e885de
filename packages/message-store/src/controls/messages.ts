import { randomUUID } from 'node:crypto';
import type { Message, MessageMetadata, StoredMessage } from '../message.js';
import { reducerFor, type MessageStore, type Projection } from '../store.js';

/**
 * Controls, in Eventide's sense: canonical example data every test builds from.
 */
let counter = 0;

/** A category name no other test uses (letters only: no `-`, no `:`). */
export function uniqueCategory(prefix = 'someCategory'): string {
  counter++;
  return `${prefix}${counter}x${randomUUID().replaceAll('-', '').slice(0, 8)}`;
}

export function uniqueStreamName(category = uniqueCategory(), id: string = randomUUID()): string {
  return `${category}-${id}`;
}

export function exampleMessage(overrides: Partial<Message> = {}): Message {
  return {
    id: randomUUID(),
    type: 'SomethingHappened',
    data: { attribute: 'some value', number: 1 },
    metadata: exampleMetadata(),
    ...overrides,
  };
}

export function exampleMetadata(overrides: MessageMetadata = {}): MessageMetadata {
  return { traceId: randomUUID(), userId: randomUUID(), ...overrides };
}

export function exampleMessages(count: number, overrides: (index: number) => Partial<Message> = () => ({})): Message[] {
  return Array.from({ length: count }, (_, index) => exampleMessage({ data: { index }, ...overrides(index) }));
}

/** A message as if read back from `streamName` (for pure tests of projections and decisions). */
export function stored<M extends Message>(
  message: M,
  streamName: string,
  position: number,
  {
    globalPosition = 1000 + position,
    time = new Date('2026-01-01T12:00:00Z'),
  }: { globalPosition?: number; time?: Date } = {},
): StoredMessage<M['type'], M['data']> {
  return { ...message, metadata: message.metadata ?? {}, streamName, position, globalPosition, time };
}

/** Messages stored one after another in `streamName`, from position 0. */
export const storedStream = (streamName: string, messages: Message[]): StoredMessage[] =>
  messages.map((message, position) => stored(message, streamName, position));

/** The entity a projection folds from `events` (as `store.fetch` does). */
export function project<Entity>(projection: Projection<Entity>, events: readonly StoredMessage[]): Entity {
  return events.reduce((entity, event) => {
    const reducer = reducerFor(projection, event.type);
    return reducer ? reducer(entity, event) : entity;
  }, projection.$init());
}

/** Writes `message` and reads it back as stored (a handler's input). */
export async function written(store: MessageStore, streamName: string, message: Message): Promise<StoredMessage> {
  const { position } = await store.write(streamName, message);
  const [read] = await store.read(streamName, { from: position, max: 1 });
  if (!read) throw new Error(`${message.type} written to ${streamName} could not be read back`);
  return read;
}
