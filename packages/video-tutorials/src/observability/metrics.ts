import { ALL_STREAMS, type ConsumerInfo, type Queryable, type SubscriptionObserver } from 'message-db-toolkit';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TIMED_OUT, withTimeout } from './readiness.js';

/**
 * The metrics of one running system, in their own registry (several systems can run in one process,
 * as tests do). See README.md, "Operations", for what each one means.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Give it to every subscription (`createSubscription({ observer })` or `subscription.observe`). */
  readonly subscriptionObserver: SubscriptionObserver & Required<Pick<SubscriptionObserver, 'handled'>>;
  /** Counts and times every response of a web server by route pattern; call before routes are added. */
  instrument(app: FastifyInstance): void;
}

export interface MetricsOptions {
  /** The message store's database, asked on each scrape for the head of every category consumed. */
  messageStoreDb: Queryable;
  logger?: Logger;
  /** The longest a scrape waits for the heads; lag is left out of that scrape when they are late. */
  headQueryTimeoutMs?: number;
  /** Process metrics (CPU, memory, event loop, GC); on by default. */
  processMetrics?: boolean;
}

/** The `member` label of a consumer outside a consumer group. */
export const NO_MEMBER = 'none';

const HANDLER_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export function createMetrics({
  messageStoreDb,
  logger,
  headQueryTimeoutMs = 2_000,
  processMetrics = true,
}: MetricsOptions): Metrics {
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry });

  const handled = new Counter({
    name: 'vt_messages_handled_total',
    help: 'Messages handed to a handler, by consumer, type and outcome (handled; parked; failed = an attempt that will be retried)',
    labelNames: ['subscriber', 'member', 'type', 'outcome'] as const,
    registers: [registry],
  });
  const handlerDuration = new Histogram({
    name: 'vt_message_handler_duration_seconds',
    help: 'Time a handler took for one message (one attempt); in batch mode the batch time shared out over its messages',
    labelNames: ['subscriber', 'type', 'outcome'] as const,
    buckets: HANDLER_BUCKETS,
    registers: [registry],
  });
  const position = new Gauge({
    name: 'vt_consumer_position',
    help: 'The global position of the last message a consumer read past',
    labelNames: ['subscriber', 'member', 'stream'] as const,
    registers: [registry],
  });
  const caughtUp = new Gauge({
    name: 'vt_consumer_caught_up',
    help: '1 when the consumer’s latest read found nothing new, else 0',
    labelNames: ['subscriber', 'member', 'stream'] as const,
    registers: [registry],
  });

  interface ConsumerState {
    labels: { subscriber: string; member: string; stream: string };
    position: number;
  }
  const consumers = new Map<string, ConsumerState>();
  const keyOf = (info: ConsumerInfo) => `${info.subscriberId}\u0000${info.member ?? ''}`;
  const labelsOf = (info: ConsumerInfo) => ({
    subscriber: info.subscriberId,
    member: info.member === null ? NO_MEMBER : String(info.member),
    stream: info.streamName,
  });

  // The heads of the categories consumed, read once per scrape and shared by the gauges that need them.
  let heads: Promise<Map<string, number> | null> | null = null;
  const readHeads = () =>
    (heads ??= readCategoryHeads([
      ...new Set([...consumers.values()].map((consumer) => consumer.labels.stream)),
    ]).finally(() => {
      heads = null;
    }));
  const readCategoryHeads = async (streams: string[]) => {
    try {
      const result = await withTimeout(
        Promise.all(streams.map(async (stream) => [stream, await headOf(messageStoreDb, stream)] as const)),
        headQueryTimeoutMs,
      );
      if (result === TIMED_OUT) {
        logger?.warn({ timeoutMs: headQueryTimeoutMs }, 'metrics: category heads not read in time; lag left out');
        return null;
      }
      return new Map(result);
    } catch (error) {
      logger?.warn({ error: String(error) }, 'metrics: category heads not read; lag left out');
      return null;
    }
  };

  new Gauge({
    name: 'vt_category_head_position',
    help: 'The global position of the last message in a category (or $all) that a consumer here reads',
    labelNames: ['stream'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const read = await readHeads();
      for (const [stream, value] of read ?? []) this.set({ stream }, value);
    },
  });
  new Gauge({
    name: 'vt_consumer_lag',
    help: 'Messages in the consumed category after the consumer’s position (head minus position); for a consumer that filters by origin or is a group member it includes messages it will never handle: see vt_consumer_caught_up',
    labelNames: ['subscriber', 'member', 'stream'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const read = await readHeads();
      if (!read) return;
      for (const consumer of consumers.values()) {
        const top = read.get(consumer.labels.stream);
        if (top !== undefined) this.set(consumer.labels, Math.max(0, top - consumer.position));
      }
    },
  });

  const subscriptionObserver: Metrics['subscriptionObserver'] = {
    handled(info) {
      const labels = labelsOf(info);
      handled.inc({ subscriber: labels.subscriber, member: labels.member, type: info.type, outcome: info.outcome });
      handlerDuration.observe(
        { subscriber: info.subscriberId, type: info.type, outcome: info.outcome },
        info.durationMs / 1000,
      );
    },
    // A batch's messages counted per type at once; its time observed once per type, as the time per message.
    batchHandled(info) {
      const labels = labelsOf(info);
      for (const [type, count] of info.types) {
        handled.inc({ subscriber: labels.subscriber, member: labels.member, type, outcome: 'handled' }, count);
        handlerDuration.observe(
          { subscriber: info.subscriberId, type, outcome: 'handled' },
          info.durationMs / info.batchSize / 1000,
        );
      }
    },
    position(info) {
      const labels = labelsOf(info);
      consumers.set(keyOf(info), { labels, position: info.position });
      position.set(labels, info.position);
      caughtUp.set(labels, 0);
    },
    idle(info) {
      const labels = labelsOf(info);
      consumers.set(keyOf(info), { labels, position: info.position });
      caughtUp.set(labels, 1);
    },
    stopped(info) {
      const labels = labelsOf(info);
      consumers.delete(keyOf(info));
      position.remove(labels);
      caughtUp.remove(labels);
    },
  };

  const httpRequests = new Counter({
    name: 'vt_http_requests_total',
    help: 'HTTP responses, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'vt_http_request_duration_seconds',
    help: 'Time to respond, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });

  return {
    registry,
    subscriptionObserver,
    instrument(app) {
      app.addHook('onResponse', async (request, reply) => {
        // The route pattern (`/videos/:id`), never the raw URL: bounded label values.
        const labels = {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status: String(reply.statusCode),
        };
        httpRequests.inc(labels);
        httpDuration.observe(labels, reply.elapsedTime / 1000);
      });
    },
  };
}

/**
 * The last global position in a category (or in `$all`): one query on Message DB's
 * `messages_category` index (category, global_position), answered from its last entry.
 */
export async function headOf(db: Queryable, stream: string): Promise<number> {
  const [row] =
    stream === ALL_STREAMS
      ? await db.query<{ head: string | number | null }>(
          'SELECT max(global_position) AS head FROM message_store.messages',
        )
      : await db.query<{ head: string | number | null }>(
          'SELECT max(global_position) AS head FROM message_store.messages WHERE message_store.category(stream_name) = $1',
          [stream],
        );
  return Number(row?.head ?? 0);
}
