import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidMessageError } from './errors.js';
import { category as streamCategory, id as streamId } from './stream-name.js';

/**
 * Metadata as the book and Message DB use it. `correlationStreamName` is
 * where Message DB's category reads filter by origin; the toolkit writes a
 * requester's `originStreamName` there too.
 */
export interface MessageMetadata {
  traceId?: string;
  userId?: string;
  originStreamName?: string;
  correlationStreamName?: string;
  causationMessageStreamName?: string;
  causationMessagePosition?: number;
  causationMessageGlobalPosition?: number;
  [key: string]: unknown;
}

export type MessageData = Record<string, unknown>;

/** A message about to be written. */
export interface Message<Type extends string = string, Data = MessageData> {
  id: string;
  type: Type;
  data: Data;
  metadata?: MessageMetadata;
}

/** A message as read back from the store. */
export interface StoredMessage<Type extends string = string, Data = MessageData> extends Message<Type, Data> {
  metadata: MessageMetadata;
  streamName: string;
  position: number;
  globalPosition: number;
  time: Date;
  /**
   * Set when the stored row is no message of ours: its `data` (or its `metadata`, when not null) was JSON
   * null, a number, a string or an array, read as `{}` instead. Every `parse` of it fails with these reasons.
   */
  malformed?: string[];
}

/**
 * A message type declared once: its TypeScript type and its runtime
 * validation both come from the zod schema.
 */
export interface MessageDefinition<Type extends string, Schema extends z.ZodType<MessageData>> {
  readonly type: Type;
  readonly schema: Schema;
  /** Builds a new message (fresh id unless given), validating its data. */
  create(data: z.input<Schema>, options?: { id?: string; metadata?: MessageMetadata }): Message<Type, z.output<Schema>>;
  /**
   * True when `message` has this type. A type guard for its `type` only: its data is not validated yet (`parse`
   * does that), so nothing is promised about it.
   */
  is<M extends { type: string }>(message: M): message is M & { type: Type };
  /** Validates a stored message of this type; throws InvalidMessageError with the reasons. */
  parse(message: StoredMessage): StoredMessage<Type, z.output<Schema>>;
  /** Like `parse`, but returns the reasons instead of throwing. */
  safeParse(
    message: StoredMessage,
  ): { success: true; message: StoredMessage<Type, z.output<Schema>> } | { success: false; error: InvalidMessageError };
}

export type MessageOf<D> = D extends MessageDefinition<infer T, infer S> ? StoredMessage<T, z.output<S>> : never;

export function defineMessage<const Type extends string, Schema extends z.ZodType<MessageData>>(
  type: Type,
  schema: Schema,
): MessageDefinition<Type, Schema> {
  const validate = (data: unknown) => {
    const result = schema.safeParse(data);
    if (result.success) return { success: true as const, data: result.data };
    return {
      success: false as const,
      error: new InvalidMessageError(
        type,
        result.error.issues.map((issue) => `${issue.path.join('.') || '(data)'}: ${issue.message}`),
      ),
    };
  };
  return {
    type,
    schema,
    create(data, options = {}) {
      const result = validate(data);
      if (!result.success) throw result.error;
      return {
        id: options.id ?? randomUUID(),
        type,
        data: result.data,
        ...(options.metadata ? { metadata: options.metadata } : {}),
      };
    },
    is: <M extends { type: string }>(message: M): message is M & { type: Type } => message.type === type,
    parse(message) {
      const result = this.safeParse(message);
      if (!result.success) throw result.error;
      return result.message;
    },
    safeParse(message) {
      if (message.type !== type)
        return { success: false, error: new InvalidMessageError(type, [`type is ${message.type}, not ${type}`]) };
      if (message.malformed?.length) return { success: false, error: new InvalidMessageError(type, message.malformed) };
      const result = validate(message.data);
      if (!result.success) return result;
      return { success: true, message: { ...message, type, data: result.data } };
    },
  };
}

/**
 * Metadata for a message written in response to `cause`: carries the trace,
 * the user and the correlation on, and records what caused it.
 */
export function followMetadata(cause: StoredMessage, extra: MessageMetadata = {}): MessageMetadata {
  const inherited: MessageMetadata = {};
  for (const key of ['traceId', 'userId', 'originStreamName', 'correlationStreamName'] as const) {
    const value = cause.metadata[key];
    if (value !== undefined) inherited[key] = value;
  }
  return {
    ...inherited,
    causationMessageStreamName: cause.streamName,
    causationMessagePosition: cause.position,
    causationMessageGlobalPosition: cause.globalPosition,
    ...extra,
  };
}

/** `message` with its metadata made to follow `cause` (see followMetadata). */
export function follow<M extends Message>(cause: StoredMessage, message: M, extra: MessageMetadata = {}): M {
  return { ...message, metadata: { ...followMetadata(cause, extra), ...message.metadata } };
}

/** Metadata as written: a requester's `originStreamName` is also the correlation Message DB filters on. */
export function metadataForWrite(metadata: MessageMetadata | undefined): MessageMetadata | null {
  if (!metadata) return null;
  if (metadata.originStreamName && !metadata.correlationStreamName)
    return { ...metadata, correlationStreamName: metadata.originStreamName };
  return metadata;
}

/** A message about entity X must be in X's stream; anything else is malformed (parked by a consumer, not guessed at). */
export function ensureWrittenTo(message: StoredMessage, streamName: string): void {
  if (message.streamName !== streamName)
    throw new InvalidMessageError(message.type, [`written to ${message.streamName}, expected ${streamName}`]);
}

/**
 * The id of the stream that asked for this message's work (`originStreamName`, else
 * `correlationStreamName`), when that stream is in `categoryName`; null otherwise.
 */
export function originIdIn(message: StoredMessage, categoryName: string): string | null {
  const origin = message.metadata.originStreamName ?? message.metadata.correlationStreamName;
  if (typeof origin !== 'string' || streamCategory(origin) !== categoryName) return null;
  return streamId(origin) ?? '';
}
