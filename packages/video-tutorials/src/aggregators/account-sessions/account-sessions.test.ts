import { randomUUID } from 'node:crypto';
import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionEnded, SessionRefreshed, SessionStarted, sessionStreamName } from '../../contracts/authentication.js';
import { identityStreamName, LoggedOutEverywhere, Registered } from '../../contracts/identity.js';
import { applyTwice, createSystemTestDatabase } from '../../test-support/database.js';
import { written as writtenIn } from '../../components/identity/controls.js';
import { applyIdentityEvents } from '../user-credentials/index.js';
import { applySessionEvents, build, findOpenSessions, SESSIONS_LISTED } from './index.js';

let test: TestDatabase & { store: MessageStore };
beforeAll(async () => {
  test = await createSystemTestDatabase();
});
afterAll(() => test.drop());

const written = (streamName: string, message: Parameters<MessageStore['write']>[1]) =>
  writtenIn(test.store, streamName, message);
const limits = { idleMs: 2 * 3_600_000, absoluteMs: 7 * 24 * 3_600_000 };
const started = (userId: string, device?: string) => {
  const sessionId = randomUUID();
  return written(
    sessionStreamName(sessionId),
    SessionStarted.create({ sessionId, userId, email: 'ada@example.com', ...(device ? { device } : {}) }),
  );
};

describe('account-sessions aggregator', () => {
  it('lists a user’s open sessions, with device and last activity, once each; logged-out ones leave', async () => {
    const userId = randomUUID();
    const firefox = await started(userId, 'Firefox on Linux');
    const older = await started(userId);
    const { sessionId } = firefox.data as { sessionId: string };
    const activeAt = new Date(Date.now() + 1000).toISOString();
    const refreshed = await written(firefox.streamName, SessionRefreshed.create({ sessionId, userId, activeAt }));
    const someoneElse = await started(randomUUID(), 'Chrome on Windows');
    await applyTwice(test.db, applySessionEvents, [firefox, older, refreshed, someoneElse]);

    const open = await findOpenSessions(test.db, userId, limits);
    expect(open).toEqual([
      { sessionId, device: 'Firefox on Linux', startedAt: firefox.time, lastSeenAt: new Date(activeAt) },
      {
        sessionId: (older.data as { sessionId: string }).sessionId,
        device: 'A browser',
        startedAt: older.time,
        lastSeenAt: older.time,
      },
    ]);

    const ended = await written(
      older.streamName,
      SessionEnded.create({ sessionId: (older.data as { sessionId: string }).sessionId, userId, reason: 'logged out' }),
    );
    await applyTwice(test.db, applySessionEvents, [ended, firefox]);
    expect((await findOpenSessions(test.db, userId, limits)).map((session) => session.sessionId)).toEqual([sessionId]);
  });

  it('leaves out sessions idle or too old, and those started before the account’s sessions ended', async () => {
    const userId = randomUUID();
    const session = await started(userId, 'Safari on iOS');
    await applyTwice(test.db, applySessionEvents, [session]);
    const later = new Date(session.time.getTime() + limits.idleMs + 1000);
    expect(await findOpenSessions(test.db, userId, { ...limits, now: later })).toEqual([]);

    await applyTwice(test.db, applyIdentityEvents, [
      await written(
        identityStreamName(userId),
        Registered.create({ userId, email: `s-${userId}@example.com`, passwordHash: 'h' }),
      ),
      await written(identityStreamName(userId), LoggedOutEverywhere.create({ userId })),
    ]);
    expect(await findOpenSessions(test.db, userId, limits)).toEqual([]);
    const afterwards = await started(userId, 'Safari on iOS');
    await applyTwice(test.db, applySessionEvents, [afterwards]);
    expect(await findOpenSessions(test.db, userId, limits)).toHaveLength(1);
  });

  it(`lists at most ${SESSIONS_LISTED}, and catches up through its subscription`, async () => {
    const userId = randomUUID();
    for (let i = 0; i < SESSIONS_LISTED + 3; i++) await started(userId, 'curl');
    const piece = build({ store: test.store, viewData: test.db });
    await piece.start();
    await piece.subscriptions[0]!.waitUntilCaughtUp();
    await piece.stop();
    expect(await findOpenSessions(test.db, userId, limits)).toHaveLength(SESSIONS_LISTED);
  });
});
