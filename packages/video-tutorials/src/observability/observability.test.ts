import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, eventually, type TestDatabase, testPgliteTemplate } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../config.js';
import { identityCommandStreamName } from '../contracts/identity.js';
import { startSystem, type System } from '../system.js';
import { browserSession } from '../test-support/browser-session.js';
import { createLogger } from './logging.js';
import { logLines } from '../test-support/log-lines.js';

/**
 * The running system, as operators see it: /metrics (behind METRICS_TOKEN), /health/live,
 * /health/ready, and JSON log lines that carry the traceId of a request and of a handled message.
 */
const METRICS_TOKEN = 'metrics-token-for-these-tests';
let system: System;
let database: TestDatabase | null = null;
let directory: string;
const log = logLines();

function environment(dataDirectory: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: dataDirectory, METRICS_TOKEN };
  if (database) {
    env.MESSAGE_STORE_CONNECTION_STRING = database.connectionString!;
    env.DATABASE_URL = database.connectionString!;
  }
  return env;
}

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-observability-'));
  if (process.env.TEST_POSTGRES_URL) database = await createTestDatabase({ install: false });
  system = await startSystem(readConfig(environment(path.join(directory, 'a'))), undefined, {
    logger: createLogger({ level: 'info', destination: log }),
    pgliteTemplate: await testPgliteTemplate(),
  });
});
afterAll(async () => {
  await system.stop();
  await database?.drop();
  await rm(directory, { recursive: true, force: true });
});

async function caughtUp() {
  await Promise.all(
    system.pieces.flatMap((piece) => piece.subscriptions).map((subscription) => subscription.waitUntilCaughtUp()),
  );
}

async function scrape() {
  const response = await system.web!.inject({ url: '/metrics', headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(response.statusCode).toBe(200);
  return response.body;
}

/** How long the running system is given, and how often it is asked. */
const patience = { timeoutMs: 20_000, intervalMs: 50 };

async function register() {
  const browser = browserSession(system.web!);
  const form = await browser.get('/register');
  const userId = /name="userId" value="([^"]+)"/.exec(form.body)![1]!;
  const email = `observed-${Date.now()}@example.com`;
  const response = await browser.post('/register', { userId, email, password: 'my secret words' });
  expect(response.statusCode).toBe(303);
  return { userId, traceId: String(response.headers['x-trace-id']) };
}

describe('/metrics of a running system', () => {
  it('counts handled messages per consumer, HTTP requests per route pattern, and shows consumer lag', async () => {
    await register();
    await caughtUp();
    const body = await scrape();
    expect(body).toContain(
      'vt_messages_handled_total{subscriber="vt:identity:command",member="none",type="Register",outcome="handled"} 1',
    );
    expect(body).toMatch(
      /vt_message_handler_duration_seconds_count\{subscriber="vt:identity:command",type="Register",outcome="handled"\} 1/,
    );
    expect(body).toContain('vt_http_requests_total{method="POST",route="/register",status="303"} 1');
    expect(body).toContain('vt_http_requests_total{method="GET",route="/register",status="200"} 1');
    expect(body).toMatch(
      /vt_consumer_lag\{subscriber="vt:identity:command",member="none",stream="identity:command"\} 0\n/,
    );
    expect(body).toMatch(/vt_category_head_position\{stream="identity:command"\} [1-9]\d*\n/);
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toContain('nodejs_eventloop_lag_seconds');

    // An aggregator applies the Registered event in a batch transaction; it is counted too.
    await eventually(
      async () =>
        (await scrape()).includes(
          'vt_messages_handled_total{subscriber="aggregators:user-credentials",member="none",type="Registered",outcome="handled"} 1',
        ),
      patience,
    );

    const byRoute = await system.web!.inject({ method: 'POST', url: `/record-viewing/${randomUUID()}` });
    expect(byRoute.statusCode).toBe(403); // no CSRF token: still counted, by its route pattern
    expect(await scrape()).toContain(
      'vt_http_requests_total{method="POST",route="/record-viewing/:videoId",status="403"} 1',
    );
  });

  it('wants the bearer token of METRICS_TOKEN', async () => {
    const web = system.web!;
    expect((await web.inject('/metrics')).statusCode).toBe(401);
    expect((await web.inject({ url: '/metrics', headers: { authorization: 'Bearer not-the-token' } })).statusCode).toBe(
      401,
    );
  });
});

describe('health', () => {
  it('is live and ready while the system runs', async () => {
    const live = await system.web!.inject('/health/live');
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'ok' });
    const ready = await system.web!.inject('/health/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: 'ready',
      checks: { system: 'running', messageStore: 'ok', viewData: 'ok' },
    });
    expect((await system.web!.inject('/health')).statusCode).toBe(200);
  });

  it('is not ready once its View Data database is gone', async () => {
    const env = environment(path.join(directory, 'b'));
    // On PostgreSQL, another URL for the same database gives View Data its own pool to close.
    if (env.DATABASE_URL) env.DATABASE_URL = `${env.DATABASE_URL}?application_name=closed-view-data`;
    const other = await startSystem(
      readConfig(env),
      { web: true, workers: false },
      {
        logger: createLogger({ level: 'silent' }),
      },
    );
    try {
      expect((await other.web!.inject('/health/ready')).statusCode).toBe(200);
      await other.viewData.close();
      const response = await other.web!.inject('/health/ready');
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: 'not ready', checks: { system: 'running', viewData: 'failed' } });
      expect((await other.web!.inject('/health/live')).statusCode).toBe(200);
    } finally {
      await other.web!.close();
      if (other.messageStoreDb !== other.viewData) await other.messageStoreDb.close();
    }
  });
});

describe('log lines', () => {
  it('carry the traceId of a request, and of a message a consumer handles', async () => {
    const { traceId } = await register();
    const requestLine = log.lines.find((line) => line.msg === 'request completed' && line.traceId === traceId);
    expect(requestLine).toMatchObject({ traceId, res: { statusCode: 303 } });
    expect(log.lines.find((line) => line.msg === 'incoming request' && line.traceId === traceId)).toMatchObject({
      req: { method: 'POST', url: '/register' },
    });

    // A malformed command is parked by the identity component; the line says which trace it belongs to.
    const messageTraceId = randomUUID();
    const messageId = randomUUID();
    await system.store.write(identityCommandStreamName(randomUUID()), {
      id: messageId,
      type: 'Register',
      data: { nonsense: true },
      metadata: { traceId: messageTraceId },
    });
    const parked = await eventually(
      () => log.lines.find((line) => line.msg === 'message parked' && line.messageId === messageId),
      patience,
    );
    expect(parked).toMatchObject({
      level: 50,
      traceId: messageTraceId,
      subscriberId: 'vt:identity:command',
      type: 'Register',
    });
    // The line is written before the message is parked; the count follows once it is.
    await eventually(
      async () =>
        (await scrape()).includes(
          'vt_messages_handled_total{subscriber="vt:identity:command",member="none",type="Register",outcome="parked"} 1',
        ),
      patience,
    );
  });
});
