import type { Piece } from '../piece.js';
import type { Queryable } from 'message-db-toolkit';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { createMetrics, type Metrics } from './metrics.js';
import { createReadiness, type Readiness } from './readiness.js';
import { registerOperationsRoutes } from './routes.js';

export { chooseLogFormat, createLogger, type LogFormat } from './logging.js';
export { createMetrics, headOf, NO_MEMBER, type Metrics } from './metrics.js';
export { createReadiness, type Readiness, type ReadinessReport } from './readiness.js';
export { registerOperationsRoutes } from './routes.js';

/** What operators see of one running system: metrics, readiness, and the routes that serve them. */
export interface Observability {
  readonly metrics: Metrics;
  readonly readiness: Readiness;
  /** Every subscription of these pieces reports to the metrics. Call before starting them. */
  observe(pieces: Piece[]): void;
  /** The pieces run: readiness may now say ready. */
  started(): void;
  /** Stopping began: readiness says not ready from now on. */
  stopping(): void;
  /** HTTP metrics for every route, and `/metrics`, `/health/live`, `/health/ready`; first thing on a web server. */
  readonly mount: (app: FastifyInstance) => void;
}

export interface ObservabilityOptions {
  messageStoreDb: Queryable;
  viewData: Queryable;
  logger: Logger;
  metricsToken: string | undefined;
  readinessTimeoutMs?: number;
}

export function createObservability({
  messageStoreDb,
  viewData,
  logger,
  metricsToken,
  readinessTimeoutMs,
}: ObservabilityOptions): Observability {
  let state: 'starting' | 'running' | 'stopping' = 'starting';
  const metrics = createMetrics({ messageStoreDb, logger });
  const readiness = createReadiness({
    databases: { messageStore: messageStoreDb, viewData },
    state: () => state,
    logger,
    ...(readinessTimeoutMs ? { timeoutMs: readinessTimeoutMs } : {}),
  });
  return {
    metrics,
    readiness,
    observe(pieces) {
      for (const piece of pieces)
        for (const subscription of piece.subscriptions) subscription.observe(metrics.subscriptionObserver);
    },
    started() {
      if (state === 'starting') state = 'running';
    },
    stopping() {
      state = 'stopping';
    },
    mount(app) {
      metrics.instrument(app);
      registerOperationsRoutes(app, { metrics, readiness, metricsToken });
    },
  };
}
