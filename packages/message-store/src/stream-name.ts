/**
 * Stream names the way Message DB reads them: `category-id`, where the
 * category ends at the first `-`, the id is everything after it, the
 * cardinal id is the id up to its first `+` (`account-123+456`), and a
 * name without `-` is a category. These agree with Message DB's SQL
 * functions `category`, `id`, `cardinal_id` and `is_category`.
 */
export const ALL_STREAMS = '$all';

export function category(streamName: string): string {
  const separator = streamName.indexOf('-');
  return separator === -1 ? streamName : streamName.slice(0, separator);
}

export function id(streamName: string): string | null {
  const separator = streamName.indexOf('-');
  return separator === -1 ? null : streamName.slice(separator + 1);
}

export function cardinalId(streamName: string): string | null {
  const streamId = id(streamName);
  if (streamId === null) return null;
  const separator = streamId.indexOf('+');
  return separator === -1 ? streamId : streamId.slice(0, separator);
}

export function isCategory(streamName: string): boolean {
  return !streamName.includes('-');
}

/** `streamName('identity', userId)` → `identity-{userId}`; extra ids make a compound id joined by `+`. */
export function streamName(categoryName: string, ...ids: string[]): string {
  if (ids.length === 0) return categoryName;
  return `${categoryName}-${ids.join('+')}`;
}

/** A category of a given type, e.g. `categoryOfType('identity', 'command')` → `identity:command`. */
export function categoryOfType(entity: string, type: string): string {
  return `${entity}:${type}`;
}

/** `commandStreamName('identity', userId)` → `identity:command-{userId}`. */
export function commandStreamName(entity: string, streamId: string): string {
  return streamName(categoryOfType(entity, 'command'), streamId);
}

/** `commandCategory('identity')` → `identity:command`. */
export function commandCategory(entity: string): string {
  return categoryOfType(entity, 'command');
}

/** The entity part of a category: `identity:command-1` → `identity`. */
export function entityName(streamName: string): string {
  return category(streamName).split(':')[0] ?? '';
}

/** The types of a category: `identity:command+snapshot-1` → `['command', 'snapshot']`. */
export function categoryTypes(streamName: string): string[] {
  const [, types] = category(streamName).split(':');
  return types ? types.split('+') : [];
}

export function isCommandStream(streamName: string): boolean {
  return categoryTypes(streamName).includes('command');
}
