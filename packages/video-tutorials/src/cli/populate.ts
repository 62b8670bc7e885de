/**
 * `populate`: the book's example data, written as the applications write it —
 * a `Register` command per registration (as register-users writes it) and a
 * `VideoViewed` event per viewing (as record-viewings writes it), each with
 * its own trace id. Messages only: the identity component and the aggregators
 * do the rest when the workers run.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Message, MessageStore } from 'message-db-toolkit';
import { v5 as uuidV5 } from 'uuid';
import { identityCommandStreamName, Register } from '../contracts/identity.js';
import { VideoViewed, viewingStreamName } from '../contracts/viewing.js';
import { hashPassword } from '../passwords.js';

export const DEFAULT_PASSWORD = 'password123';
export const POPULATE_DEFAULTS = { users: 10, viewings: 100, videos: 5 } as const;

// Example video ids are the same on every run, so repeated runs add views to the same few videos.
const EXAMPLE_VIDEO_NAMESPACE = '3f8e2c1a-6b7d-4e59-8a0c-5d4f3b2a1e90';
export const exampleVideoId = (n: number) => uuidV5(`example-video-${n}`, EXAMPLE_VIDEO_NAMESPACE);

export interface PopulateOptions {
  store: MessageStore;
  users?: number;
  viewings?: number;
  /** How many video ids the viewings are spread over. */
  videos?: number;
  password?: string;
  /** Called as messages are written. */
  onProgress?: (written: number, total: number) => void;
  signal?: AbortSignal;
  /** Writes (and password hashes) in flight at once. */
  concurrency?: number;
}

export interface PopulateResult {
  /** Tells this run's e-mail addresses apart from earlier runs'. */
  run: string;
  users: { userId: string; email: string }[];
  viewings: number;
  videoIds: string[];
  password: string;
}

/** Viewings are written per video stream in batches of this many: the same messages, fewer round trips. */
const VIEWINGS_PER_WRITE = 500;

export async function populate(options: PopulateOptions): Promise<PopulateResult> {
  const { store, onProgress, signal } = options;
  const userCount = options.users ?? POPULATE_DEFAULTS.users;
  const viewingCount = options.viewings ?? POPULATE_DEFAULTS.viewings;
  const videoCount = options.videos ?? POPULATE_DEFAULTS.videos;
  const password = options.password ?? DEFAULT_PASSWORD;
  const concurrency = options.concurrency ?? 4;
  if (videoCount < 1) throw new Error('populate needs at least one video id');
  const total = userCount + viewingCount;
  let written = 0;
  const wrote = (count: number) => {
    written += count;
    onProgress?.(written, total);
  };
  onProgress?.(0, total);

  const run = randomBytes(3).toString('hex');
  const users = Array.from({ length: userCount }, (_, n) => ({
    userId: randomUUID(),
    email: `user-${n + 1}.${run}@example.com`,
  }));
  await inParallel(users, concurrency, async ({ userId, email }) => {
    signal?.throwIfAborted();
    // As register-users writes it: one trace per request, the user's own id on the command.
    const command = Register.create(
      { userId, email, passwordHash: await hashPassword(password) },
      { metadata: { traceId: randomUUID(), userId } },
    );
    await store.write(identityCommandStreamName(userId), command);
    wrote(1);
  });

  // As record-viewings writes it: anonymous when nobody is logged in.
  const videoIds = Array.from({ length: videoCount }, (_, n) => exampleVideoId(n + 1));
  const byVideo = new Map<string, Message[]>(videoIds.map((videoId) => [videoId, []]));
  for (let n = 0; n < viewingCount; n++) {
    const videoId = videoIds[n % videoCount]!;
    const userId = users.length > 0 ? users[n % users.length]!.userId : 'anonymous';
    byVideo
      .get(videoId)!
      .push(VideoViewed.create({ userId, videoId }, { metadata: { traceId: randomUUID(), userId } }));
  }
  const writes = [...byVideo].flatMap(([videoId, viewings]) =>
    chunk(viewings, VIEWINGS_PER_WRITE).map((messages) => ({ videoId, messages })),
  );
  await inParallel(writes, concurrency, async ({ videoId, messages }) => {
    signal?.throwIfAborted();
    await store.writeBatch(viewingStreamName(videoId), messages);
    wrote(messages.length);
  });

  return { run, users, viewings: viewingCount, videoIds, password };
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}

/** Runs `work` on every item, at most `limit` at a time; the first failure stops taking new items. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
