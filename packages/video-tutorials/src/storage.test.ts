import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStorage } from './storage.js';

describe('storage', () => {
  const storage = createStorage('/srv/video');
  it('maps storage URIs to paths inside the storage directory only', () => {
    expect(storage.uriOf('uploads/abc.mp4')).toBe('storage:uploads/abc.mp4');
    expect(storage.pathOf('storage:uploads/abc.mp4')).toBe(path.join('/srv/video', 'uploads', 'abc.mp4'));
    for (const bad of [
      'storage:../etc/passwd',
      'storage:uploads/../../x',
      'file:///etc/passwd',
      'storage:/abs',
      'storage:uploads/a b',
    ])
      expect(() => storage.pathOf(bad)).toThrow();
  });
});
