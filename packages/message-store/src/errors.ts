/** A write whose expected version did not match the stream's version. */
export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
  constructor(
    readonly streamName: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(
      `Version conflict on stream ${streamName}: expected version ${expectedVersion}, actual version ${actualVersion}`,
    );
  }
}

/** A message id already stored in another stream: ids identify one message in the whole store. */
export class DuplicateMessageIdError extends Error {
  override readonly name = 'DuplicateMessageIdError';
  constructor(
    readonly messageId: string,
    readonly streamName: string,
    readonly storedInStreamName: string,
  ) {
    super(`Message ${messageId} written to ${streamName} is already stored in ${storedInStreamName}`);
  }
}

/** A message that does not match its declared schema. */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError';
  constructor(
    readonly messageType: string,
    readonly issues: string[],
  ) {
    super(`Invalid ${messageType} message: ${issues.join('; ')}`);
  }
}

const WRONG_EXPECTED_VERSION = /Wrong expected version: (-?\d+) \(Stream: (.*), Stream Version: (-?\d+)\)/;

/** Reads Message DB's "Wrong expected version" exception into a typed error. */
export function versionConflictFrom(error: unknown): VersionConflictError | null {
  if (!(error instanceof Error)) return null;
  const match = WRONG_EXPECTED_VERSION.exec(error.message);
  if (!match) return null;
  return new VersionConflictError(match[2] ?? '', Number(match[1]), Number(match[3]));
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Error && (error as { code?: unknown }).code === '23505';
}
