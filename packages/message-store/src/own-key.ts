/**
 * `map[key]` when `key` is the map's own property, else undefined. Message types are anyone's to choose
 * (`write_message` takes any text), so a handler or reducer found by a message's type must never be
 * `toString`, `constructor` or `__proto__` inherited from `Object.prototype`.
 */
export function ownValue<Value>(map: Readonly<Record<string, Value>>, key: string): Value | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}
