import { defineProjection, follow, type Projection, type Reducer } from 'message-db-toolkit';
import type { UserLoginFailed } from '../../contracts/authentication.js';
import { AccountLocked, identityStreamName } from '../../contracts/identity.js';
import { tokenHashOf } from './confirmation.js';
import { nothing, write, type Decision } from './decisions.js';
import type { Identity } from './identity.js';

/**
 * The book's account-locking exercise: `maxFailures` failed log-ins within `windowMs` lock the account, for
 * `lockMs` (a lock is temporary, so a stranger cannot lock anyone out for good).
 */
export interface LockPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export const defaultLockPolicy: LockPolicy = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };

export function lockPolicyFrom(overrides: Partial<LockPolicy> = {}): LockPolicy {
  const policy = { ...defaultLockPolicy, ...overrides };
  if (!Number.isInteger(policy.maxFailures) || policy.maxFailures < 1)
    throw new RangeError(`lockPolicy.maxFailures must be a whole number of at least 1, not ${policy.maxFailures}`);
  if (!Number.isFinite(policy.windowMs) || policy.windowMs <= 0)
    throw new RangeError(`lockPolicy.windowMs must be a positive number of milliseconds, not ${policy.windowMs}`);
  if (!Number.isFinite(policy.lockMs) || policy.lockMs <= 0)
    throw new RangeError(`lockPolicy.lockMs must be a positive number of milliseconds, not ${policy.lockMs}`);
  return policy;
}

/** Failed log-ins since the last successful one: their times (ms), the latest `keep` of them. */
export interface LoginHistory {
  failures: number[];
}

/**
 * A projection of `authentication-{userId}` as it stood when the failure at `upToPosition` was written: later
 * messages are left out, so handling that failure again (a replay) decides the same. `UserLoggedIn` resets the
 * count. Only the latest `keep` failures matter to the policy, so no more are kept.
 */
export function loginHistoryUpTo(upToPosition: number, keep: number): Projection<LoginHistory> {
  const upTo =
    (reduce: Reducer<LoginHistory>): Reducer<LoginHistory> =>
    (history, event) =>
      event.position <= upToPosition ? reduce(history, event) : history;
  // By type name: only the messages' times and positions count, never their data.
  return defineProjection<LoginHistory>(() => ({ failures: [] }))
    .on(
      'UserLoginFailed',
      upTo((history, event) => ({ failures: [...history.failures, event.time.getTime()].slice(-keep) })),
    )
    .on(
      'UserLoggedIn',
      upTo(() => ({ failures: [] })),
    )
    .build();
}

/**
 * `UserLoginFailed` → `AccountLocked` when `maxFailures` failed log-ins fall within `windowMs` up to this one
 * (a failure exactly `windowMs` older no longer counts). Times are the messages' own, never the clock's, so
 * a replay decides as the first run did. Failures before the last unlock do not count.
 */
export function decideLock(
  identity: Identity,
  history: LoginHistory,
  failure: UserLoginFailed,
  policy: LockPolicy,
  unlockToken?: string,
): Decision {
  if (!identity.registered) return nothing('identity is not registered');
  const at = failure.time.getTime();
  const lockEnded = identity.locked && identity.lockedUntil !== null && identity.lockedUntil <= at;
  if (identity.locked && !lockEnded) return nothing('account already locked');
  // Failures before the last unlock, or during a lock that has ended since, do not count.
  const countsFrom = Math.max(identity.unlockedAt ?? -Infinity, lockEnded ? identity.lockedUntil! : -Infinity);
  const counted = history.failures.filter((time) => time > at - policy.windowMs && time > countsFrom);
  if (counted.length < policy.maxFailures)
    return nothing(`${counted.length} of ${policy.maxFailures} failed log-ins within ${duration(policy.windowMs)}`);
  const { userId } = failure.data;
  const reason = `${counted.length} failed log-ins within ${duration(policy.windowMs)}`;
  return write(
    identityStreamName(userId),
    follow(
      failure,
      AccountLocked.create({
        userId,
        reason,
        failedLoginCount: counted.length,
        lockedUntil: new Date(at + policy.lockMs).toISOString(),
        ...(unlockToken ? { unlockTokenHash: tokenHashOf(unlockToken) } : {}),
      }),
    ),
  );
}

function duration(ms: number): string {
  const [amount, unit] =
    ms % 3_600_000 === 0
      ? [ms / 3_600_000, 'hour']
      : ms % 60_000 === 0
        ? [ms / 60_000, 'minute']
        : ms % 1000 === 0
          ? [ms / 1000, 'second']
          : [ms, 'millisecond'];
  return `${amount} ${unit}${amount === 1 ? '' : 's'}`;
}
