import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';
import type { Readiness } from './readiness.js';

export interface OperationsRoutesOptions {
  metrics: Metrics;
  readiness: Readiness;
  /** `METRICS_TOKEN`: when set, `/metrics` wants `Authorization: Bearer <token>`; when not, it is open. */
  metricsToken: string | undefined;
}

/**
 * `GET /health/live` (the process serves), `GET /health/ready` (it can do its work: 200, or 503 with
 * the failing checks) and `GET /metrics` (Prometheus text). Probes and scrapes come often, so their
 * request log lines are written at warn level only.
 */
export function registerOperationsRoutes(
  app: FastifyInstance,
  { metrics, readiness, metricsToken }: OperationsRoutesOptions,
) {
  const quiet = { logLevel: 'warn' as const };

  app.get('/health/live', quiet, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'ok' };
  });

  app.get('/health/ready', quiet, async (_request, reply) => {
    const { ready, checks } = await readiness.check();
    return reply
      .code(ready ? 200 : 503)
      .header('cache-control', 'no-store')
      .send({ status: ready ? 'ready' : 'not ready', checks });
  });

  const expected = metricsToken === undefined ? null : digest(metricsToken);
  app.get('/metrics', quiet, async (request, reply) => {
    if (expected) {
      const [scheme, token] = (request.headers.authorization ?? '').split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token || !timingSafeEqual(digest(token), expected))
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .header('cache-control', 'no-store')
          .send({ error: 'A bearer token is required for /metrics' });
    }
    const body = await metrics.registry.metrics();
    return reply.header('cache-control', 'no-store').type(metrics.registry.contentType).send(body);
  });
}

/** Equal-length digests, so the comparison takes the same time whatever the token's length. */
function digest(token: string) {
  return createHash('sha256').update(token).digest();
}
