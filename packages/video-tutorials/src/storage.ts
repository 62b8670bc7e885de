import path from 'node:path';

/**
 * Video files live in a storage directory (under DATA_DIRECTORY by default)
 * and are named in messages by storage URIs: `storage:uploads/<id>.mp4`.
 * Messages never hold machine-specific paths, so every process that mounts
 * the same storage directory can resolve them.
 */
export interface Storage {
  readonly directory: string;
  /** The absolute path of a storage URI; throws for anything outside the storage directory. */
  pathOf(uri: string): string;
  /** The storage URI of a key such as `transcoded/<id>.mp4`. */
  uriOf(key: string): string;
}

const SCHEME = 'storage:';
const KEY = /^[a-z0-9-]+(\/[A-Za-z0-9._-]+)+$/;

export function createStorage(directory: string): Storage {
  const root = path.resolve(directory);
  return {
    directory: root,
    pathOf(uri) {
      if (!uri.startsWith(SCHEME)) throw new Error(`Not a storage URI: ${uri}`);
      const key = uri.slice(SCHEME.length);
      if (!KEY.test(key) || key.split('/').includes('..')) throw new Error(`Not a storage key: ${key}`);
      return path.join(root, ...key.split('/'));
    },
    uriOf(key) {
      if (!KEY.test(key) || key.split('/').includes('..')) throw new Error(`Not a storage key: ${key}`);
      return `${SCHEME}${key}`;
    },
  };
}
