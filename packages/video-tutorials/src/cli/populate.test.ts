import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Register } from '../contracts/identity.js';
import { VideoViewed } from '../contracts/viewing.js';
import { verifyPassword } from '../passwords.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { DEFAULT_PASSWORD, exampleVideoId, populate } from './populate.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('populate', () => {
  it('writes N Register commands and M VideoViewed events as the applications write them', async () => {
    const progress: [number, number][] = [];
    const result = await populate({
      store: test.store,
      users: 3,
      viewings: 1_205,
      videos: 4,
      onProgress: (written, total) => progress.push([written, total]),
    });

    const commands = await test.store.read('identity:command', { from: 0, max: 100 });
    expect(commands).toHaveLength(3);
    for (const command of commands) {
      const { data, metadata, streamName } = Register.parse(command);
      expect(streamName).toBe(`identity:command-${data.userId}`);
      expect(metadata.traceId).toMatch(UUID);
      expect(metadata).toEqual({ traceId: metadata.traceId, userId: data.userId });
      expect(data.passwordHash).toMatch(/^\$argon2id\$/);
      expect(await verifyPassword(data.passwordHash, DEFAULT_PASSWORD)).toBe(true);
    }
    expect(commands.map((command) => command.data.email).sort()).toEqual(result.users.map((user) => user.email).sort());
    expect(new Set(commands.map((command) => command.data.passwordHash)).size).toBe(3); // salted each

    const viewings = await test.store.read('viewing', { from: 0, max: 10_000 });
    expect(viewings).toHaveLength(1_205);
    const userIds = result.users.map((user) => user.userId);
    for (const viewing of viewings) {
      const { data, metadata, streamName } = VideoViewed.parse(viewing);
      expect(streamName).toBe(`viewing-${data.videoId}`);
      expect(userIds).toContain(data.userId);
      expect(metadata.traceId).toMatch(UUID);
      expect(metadata).toEqual({ traceId: metadata.traceId, userId: data.userId });
    }
    expect(new Set(viewings.map((viewing) => viewing.metadata.traceId)).size).toBe(1_205);
    expect(new Set(viewings.map((viewing) => viewing.streamName))).toEqual(
      new Set([1, 2, 3, 4].map((n) => `viewing-${exampleVideoId(n)}`)),
    );
    expect(progress.at(0)).toEqual([0, 1_208]);
    expect(progress.at(-1)).toEqual([1_208, 1_208]);
  });

  it('writes anonymous viewings when asked for no users, and new addresses on every run', async () => {
    const first = await populate({ store: test.store, users: 1, viewings: 0, password: 'another-secret' });
    const second = await populate({ store: test.store, users: 0, viewings: 2, videos: 1 });
    expect(second.users).toEqual([]);
    const viewings = await test.store.read(`viewing-${exampleVideoId(1)}`, { from: 0, max: 10_000 });
    expect(viewings.slice(-2).map((viewing) => viewing.data.userId)).toEqual(['anonymous', 'anonymous']);
    const [command] = await test.store.read(`identity:command-${first.users[0]!.userId}`);
    expect(await verifyPassword(String(command?.data.passwordHash), 'another-secret')).toBe(true);
    expect(first.users[0]!.email).toMatch(/^user-1\.[0-9a-f]{6}@example\.com$/);
  });
});
