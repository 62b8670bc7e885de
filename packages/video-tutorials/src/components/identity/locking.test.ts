import type { Message, StoredMessage } from 'message-db-toolkit';
import { describe, expect, it } from 'vitest';
import { authenticationStreamName, UserLoginFailed } from '../../contracts/authentication.js';
import { AccountUnlocked, identityStreamName } from '../../contracts/identity.js';
import {
  exampleAccountLocked,
  exampleRegistered,
  exampleUser,
  exampleUserLoggedIn,
  exampleUserLoginFailed,
  project,
  stored,
} from './controls.js';
import { identityProjection, type Identity } from './identity.js';
import { decideLock, defaultLockPolicy, lockPolicyFrom, loginHistoryUpTo, type LockPolicy } from './locking.js';

// Given the identity stream and the authentication stream (with their messages' times), when a failed
// log-in is decided on, then the account is locked or not.

const user = exampleUser();
const identityStream = identityStreamName(user.userId);
const authenticationStream = authenticationStreamName(user.userId);
const start = Date.parse('2026-01-01T12:00:00Z');
const minutes = (n: number) => new Date(start + n * 60_000);
const policy: LockPolicy = { maxFailures: 3, windowMs: 10 * 60_000, lockMs: 30 * 60_000 };

const failed = () => exampleUserLoginFailed(user);
const loggedIn = () => exampleUserLoggedIn(user);

/** Authentication messages at the given minutes; decides on the failure at `failureIndex` (default: the last). */
function decideOn(
  identityEvents: StoredMessage[],
  authentication: [Message, number][],
  failureIndex = authentication.length - 1,
  lockPolicy = policy,
) {
  const stream = authentication.map(([message, minute], position) =>
    stored(message, authenticationStream, position, minutes(minute)),
  );
  const failure = UserLoginFailed.parse(stream[failureIndex]!);
  const history = project(loginHistoryUpTo(failure.position, lockPolicy.maxFailures), stream);
  const identity: Identity = project(identityProjection, identityEvents);
  return decideLock(identity, history, failure, lockPolicy);
}

const registered = [stored(exampleRegistered(user), identityStream, 0, minutes(-60))];

describe('locking after failed log-ins', () => {
  it('locks at the maxFailures-th failure within the window, saying why', () => {
    const decision = decideOn(registered, [
      [failed(), 0],
      [failed(), 4],
      [failed(), 9],
    ]);
    expect(decision.kind).toBe('write');
    if (decision.kind !== 'write') return;
    expect(decision.streamName).toBe(identityStream);
    expect(decision.message).toMatchObject({
      type: 'AccountLocked',
      data: { userId: user.userId, failedLoginCount: 3, reason: '3 failed log-ins within 10 minutes' },
      metadata: { causationMessageStreamName: authenticationStream, causationMessagePosition: 2 },
    });
  });

  it('locks for lockMs only, with the hash of the owner’s unlock token; after it ends, failures count afresh', () => {
    const stream: [Message, number][] = [
      [failed(), 0],
      [failed(), 1],
      [failed(), 2],
    ];
    const lock = decideOn(registered, stream);
    if (lock.kind !== 'write') throw new Error('expected a lock');
    expect(lock.message.data).toMatchObject({ lockedUntil: minutes(32).toISOString() });
    const locked = [...registered, stored(lock.message, identityStream, 1, minutes(2))];
    // During the lock: nothing more.
    expect(decideOn(locked, [...stream, [failed(), 20]])).toEqual({
      kind: 'nothing',
      reason: 'account already locked',
    });
    // After it: the failures before its end do not count; three new ones lock again.
    expect(decideOn(locked, [...stream, [failed(), 33]])).toEqual({
      kind: 'nothing',
      reason: '1 of 3 failed log-ins within 10 minutes',
    });
    expect(decideOn(locked, [...stream, [failed(), 33], [failed(), 34], [failed(), 35]]).kind).toBe('write');
  });

  it('does not lock when the failures are spread wider than the window (the boundary excluded)', () => {
    expect(
      decideOn(registered, [
        [failed(), 0],
        [failed(), 5],
        [failed(), 10],
      ]),
    ).toEqual({ kind: 'nothing', reason: '2 of 3 failed log-ins within 10 minutes' });
    expect(
      decideOn(registered, [
        [failed(), 0],
        [failed(), 20],
        [failed(), 40],
        [failed(), 60],
      ]).kind,
    ).toBe('nothing');
  });

  it('counts from the last successful log-in', () => {
    expect(
      decideOn(registered, [
        [failed(), 0],
        [failed(), 1],
        [loggedIn(), 2],
        [failed(), 3],
      ]),
    ).toEqual({ kind: 'nothing', reason: '1 of 3 failed log-ins within 10 minutes' });
  });

  it('decides a failure from the history up to it, whatever came later (a replay decides the same)', () => {
    const authentication: [Message, number][] = [
      [failed(), 0],
      [failed(), 1],
      [failed(), 2],
      [loggedIn(), 3],
    ];
    expect(decideOn(registered, authentication, 2).kind).toBe('write');
    expect(decideOn(registered, authentication, 1).kind).toBe('nothing');
  });

  it('does not count failures before the last unlock, and never locks twice', () => {
    const locked = stored(exampleAccountLocked(user, 3), identityStream, 1, minutes(2));
    const unlocked = stored(AccountUnlocked.create({ userId: user.userId }), identityStream, 2, minutes(5));
    const authentication: [Message, number][] = [
      [failed(), 0],
      [failed(), 1],
      [failed(), 2],
      [failed(), 6],
      [failed(), 7],
      [failed(), 8],
    ];
    expect(decideOn([...registered, locked], authentication, 2)).toEqual({
      kind: 'nothing',
      reason: 'account already locked',
    });
    expect(decideOn([...registered, locked, unlocked], authentication, 3)).toEqual({
      kind: 'nothing',
      reason: '1 of 3 failed log-ins within 10 minutes',
    });
    // Replaying the failures that caused the first lock changes nothing either.
    expect(decideOn([...registered, locked, unlocked], authentication, 2).kind).toBe('nothing');
    expect(decideOn([...registered, locked, unlocked], authentication, 5).kind).toBe('write');
  });

  it('ignores failures of an identity that is not registered', () => {
    expect(
      decideOn(
        [],
        [
          [failed(), 0],
          [failed(), 0],
          [failed(), 0],
        ],
      ),
    ).toEqual({ kind: 'nothing', reason: 'identity is not registered' });
  });

  it('has a default policy of 5 failures in 15 minutes, and refuses a policy that makes no sense', () => {
    expect(defaultLockPolicy).toEqual({ maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 });
    expect(lockPolicyFrom({ maxFailures: 2 })).toEqual({ maxFailures: 2, windowMs: 15 * 60_000, lockMs: 15 * 60_000 });
    expect(() => lockPolicyFrom({ maxFailures: 0 })).toThrow(/maxFailures/);
    expect(() => lockPolicyFrom({ windowMs: -1 })).toThrow(/windowMs/);
    const fiveAtOnce: [Message, number][] = Array.from({ length: 5 }, () => [failed(), 0]);
    expect(decideOn(registered, fiveAtOnce.slice(0, 4), 3, defaultLockPolicy).kind).toBe('nothing');
    expect(decideOn(registered, fiveAtOnce, 4, defaultLockPolicy)).toMatchObject({
      kind: 'write',
      message: { data: { failedLoginCount: 5, reason: '5 failed log-ins within 15 minutes' } },
    });
  });
});
