import { randomUUID } from 'node:crypto';
import type { Message, MessageMetadata } from '../message.js';

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
