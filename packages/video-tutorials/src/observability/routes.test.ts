import type { Queryable } from 'message-db-toolkit';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { createReadiness } from './readiness.js';
import { registerOperationsRoutes } from './routes.js';

/** A message store whose categories all end at global position 41. */
const messageStoreDb: Queryable = {
  async query<R>() {
    return [{ head: '41' }] as R[];
  },
  async exec() {},
};

const servers: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function server(metricsToken?: string) {
  const app = Fastify();
  servers.push(app);
  const metrics = createMetrics({ messageStoreDb, processMetrics: false });
  metrics.instrument(app);
  registerOperationsRoutes(app, {
    metrics,
    readiness: createReadiness({ databases: { messageStore: messageStoreDb }, state: () => 'running' }),
    metricsToken,
  });
  app.get('/videos/:videoId', async () => 'a video');
  await app.ready();
  return { app, metrics };
}

describe('/metrics', () => {
  it('is open without METRICS_TOKEN and counts requests by route pattern, not by URL', async () => {
    const { app } = await server();
    await app.inject('/videos/one');
    await app.inject('/videos/two');
    await app.inject('/no/such/page');
    const response = await app.inject('/metrics');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(response.body).toContain('vt_http_requests_total{method="GET",route="/videos/:videoId",status="200"} 2');
    expect(response.body).toContain('vt_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(response.body).toContain('vt_http_request_duration_seconds_count{method="GET",route="/videos/:videoId"');
    expect(response.body).not.toContain('/videos/one');
  });

  it('wants the bearer token when METRICS_TOKEN is set', async () => {
    const token = 'a-scrape-token-of-some-length';
    const { app } = await server(token);
    const without = await app.inject('/metrics');
    expect(without.statusCode).toBe(401);
    expect(without.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    expect((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: { authorization: token } })).statusCode).toBe(401);
    const withToken = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(withToken.statusCode).toBe(200);
    // Health checks stay open.
    expect((await app.inject('/health/live')).statusCode).toBe(200);
    expect((await app.inject('/health/ready')).statusCode).toBe(200);
  });

  it('reports lag from the category head and the positions the observer was told', async () => {
    const { app, metrics } = await server();
    const consumer = { subscriberId: 'components:example', streamName: 'example', member: null };
    metrics.subscriptionObserver.position({ ...consumer, position: 30 });
    metrics.subscriptionObserver.handled({
      ...consumer,
      messageId: 'm1',
      type: 'Done',
      traceId: undefined,
      outcome: 'parked',
      durationMs: 12,
      batchSize: 1,
    });
    const grouped = { subscriberId: 'components:grouped', streamName: 'example', member: 2 };
    metrics.subscriptionObserver.position({ ...grouped, position: 40 });
    metrics.subscriptionObserver.idle!({ ...grouped, position: 40 });
    let body = (await app.inject('/metrics')).body;
    expect(body).toContain('vt_consumer_lag{subscriber="components:example",member="none",stream="example"} 11');
    expect(body).toContain('vt_consumer_lag{subscriber="components:grouped",member="2",stream="example"} 1');
    expect(body).toContain('vt_consumer_caught_up{subscriber="components:grouped",member="2",stream="example"} 1');
    expect(body).toContain('vt_category_head_position{stream="example"} 41');
    expect(body).toContain(
      'vt_messages_handled_total{subscriber="components:example",member="none",type="Done",outcome="parked"} 1',
    );
    expect(body).toContain(
      'vt_message_handler_duration_seconds_sum{subscriber="components:example",type="Done",outcome="parked"} 0.012',
    );

    metrics.subscriptionObserver.stopped!(grouped);
    body = (await app.inject('/metrics')).body;
    expect(body).not.toContain('subscriber="components:grouped"');
  });
});
