import { randomUUID } from 'node:crypto';
import type { MessageStore } from '../store.js';
import { createSubscription, type Subscription, type SubscriptionOptions } from '../subscription.js';

/** The subscriptions a test file starts, with settings for tests, and how to stop them all after each test. */
export interface TestSubscriptions {
  /**
   * A subscription with a fresh subscriber id, polling every 50 ms and retrying at once (`tickIntervalMs: 50`,
   * `retryDelayMs: 1`) unless `options` say otherwise; not started.
   */
  subscribe: (options: Partial<SubscriptionOptions> & Pick<SubscriptionOptions, 'streamName'>) => Subscription;
  /** Stops every subscription made so far (e.g. in `afterEach`). */
  stopAll: () => Promise<void>;
}

export function testSubscriptions(store: () => MessageStore): TestSubscriptions {
  const running: Subscription[] = [];
  return {
    subscribe(options) {
      const subscription = createSubscription({
        store: store(),
        subscriberId: randomUUID(),
        tickIntervalMs: 50,
        retryDelayMs: 1,
        ...options,
      });
      running.push(subscription);
      return subscription;
    },
    async stopAll() {
      await Promise.all(running.splice(0).map((subscription) => subscription.stop()));
    },
  };
}
