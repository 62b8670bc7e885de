import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Database } from 'message-db-toolkit';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { createTestDatabase, eventually, type TestDatabase, testDatabaseKind } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_VIDEO_ID } from './app/home/index.js';

/**
 * A web process (a real one, started as in production) while its database connections are terminated, and while
 * its database cannot be reached at all: it never answers 500, it answers 503 with Retry-After and a friendly page,
 * and it serves again by itself once the database is back. The web process reaches PostgreSQL through a TCP
 * proxy of the test's, which plays the outage: it cuts every connection and refuses new ones.
 */
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const main = path.join(repositoryRoot, 'packages', 'video-tutorials', 'src', 'main.ts');

describe.runIf(testDatabaseKind === 'postgres')(
  'the web applications when the database goes away (PostgreSQL only: PGlite runs in-process)',
  () => {
    let database: TestDatabase;
    let killer: Database;
    let proxy: Awaited<ReturnType<typeof startProxy>>;
    let directory: string;
    let web: ChildProcess;
    const output: string[] = [];
    let baseUrl = '';

    beforeAll(async () => {
      database = await createTestDatabase({ install: false });
      killer = createPostgresDatabase({ connectionString: database.connectionString!, max: 1 });
      proxy = await startProxy(new URL(database.connectionString!));
      directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-outage-'));
      const throughProxy = new URL(database.connectionString!);
      throughProxy.host = `127.0.0.1:${proxy.port}`;
      const port = await freePort();
      baseUrl = `http://127.0.0.1:${port}`;
      web = spawn(process.execPath, ['--import', 'tsx', main, 'start', '--web'], {
        cwd: repositoryRoot,
        env: {
          ...process.env,
          NODE_ENV: 'test',
          LOG_LEVEL: 'warn',
          PORT: String(port),
          DATA_DIRECTORY: directory,
          MESSAGE_STORE_CONNECTION_STRING: throughProxy.toString(),
          DATABASE_URL: throughProxy.toString(),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      web.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      web.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      await eventually(async () => (await fetch(`${baseUrl}/health`).catch(() => null))?.ok === true, {
        timeoutMs: 60_000,
        intervalMs: 250,
      });
    }, 90_000);
    afterAll(async () => {
      if (web && web.exitCode === null) web.kill('SIGKILL');
      await killer?.close();
      await proxy?.close();
      await database?.drop();
      if (directory) await rm(directory, { recursive: true, force: true });
    });

    const alive = () => web.exitCode === null && web.signalCode === null;
    const log = () => output.join('').slice(-4000);

    /** A form's CSRF token and cookies, from the registration page (which needs no database). */
    async function session() {
      const form = await fetch(`${baseUrl}/register`);
      const body = await form.text();
      return {
        cookie: form.headers
          .getSetCookie()
          .map((header) => header.split(';')[0])
          .join('; '),
        csrf: /name="_csrf" value="([^"]+)"/.exec(body)![1]!,
        userId: /name="userId" value="([^"]+)"/.exec(body)![1]!,
      };
    }

    async function register() {
      const { cookie, csrf, userId } = await session();
      return fetch(`${baseUrl}/register`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          _csrf: csrf,
          userId,
          email: `outage-${userId}@example.com`,
          password: 'outage secret',
        }).toString(),
      });
    }

    /** A playback token of the sample video, from the home page; used again, it records nothing new. */
    let playbackToken: string | undefined;
    async function recordViewing() {
      const { cookie, csrf } = await session();
      if (!playbackToken) {
        const home = await fetch(`${baseUrl}/`);
        const token = /name="playbackToken" value="([^"]+)"/.exec(await home.text())?.[1];
        // No home page (the database is away): its answer stands for this write, its body already read.
        if (!token) return new Response(null, { status: home.status, headers: home.headers });
        playbackToken = token;
      }
      return fetch(`${baseUrl}/record-viewing/${SAMPLE_VIDEO_ID}`, {
        method: 'POST',
        headers: { cookie, 'x-csrf-token': csrf, 'x-playback-token': playbackToken, accept: 'application/json' },
      });
    }

    it('never answers 500 while every connection is terminated, again and again', async () => {
      const [row] = await killer.query<{ name: string }>('SELECT current_database() AS name');
      const statuses: number[] = [];
      const missingRetryAfter: number[] = [];
      let writing = true;
      // Viewings are limited to 30 a minute per client, and the next test records one more: stay under it.
      let viewingsLeft = 20;
      const writers = [register, register, register, recordViewing, recordViewing, recordViewing].map(async (write) => {
        while (writing && (write === register || viewingsLeft-- > 0)) {
          const response = await write();
          statuses.push(response.status);
          if (response.status === 503 && !response.headers.get('retry-after')) missingRetryAfter.push(503);
          await response.arrayBuffer();
        }
      });
      let terminated = 0;
      for (let round = 0; round < 10; round++) {
        await sleep(100); // not a wait for anything: requests go on between two losses
        const rows = await killer.query<{ terminated: boolean }>(
          `SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity
            WHERE datname = $1 AND pid <> pg_backend_pid()`,
          [row!.name],
        );
        terminated += rows.filter((each) => each.terminated).length;
      }
      await sleep(500); // requests go on a while after the last loss, which is what is shown
      writing = false;
      await Promise.all(writers);

      console.log('responses while connections were terminated:', JSON.stringify(countBy(statuses)));
      expect(alive(), log()).toBe(true);
      expect(terminated).toBeGreaterThan(0);
      expect(statuses.filter((status) => ![204, 303, 503].includes(status))).toEqual([]);
      expect(missingRetryAfter).toEqual([]);
      expect(statuses.filter((status) => status === 204 || status === 303).length).toBeGreaterThan(0);
    }, 60_000);

    it('answers 503 with Retry-After and a friendly page while the database is unreachable, then recovers', async () => {
      proxy.down();
      try {
        const home = await fetch(`${baseUrl}/`);
        expect(home.status).toBe(503);
        expect(home.headers.get('retry-after')).toBe('5');
        expect(home.headers.get('content-type')).toContain('text/html');
        const page = await home.text();
        expect(page).toContain('Back in a moment');
        expect(page).toContain('Please try again in a few seconds');
        expect(page).toContain('<nav'); // the site's layout, not a bare error
        expect(page).not.toMatch(/ECONNREFUSED|Connection terminated|at .*\.ts:\d+/);

        const registration = await register();
        expect(registration.status).toBe(503);
        expect(registration.headers.get('retry-after')).toBe('5');
        expect(await registration.text()).toContain('Back in a moment');

        const viewing = await recordViewing();
        expect(viewing.status).toBe(503);
        expect(viewing.headers.get('retry-after')).toBe('5');
        expect(await viewing.json()).toMatchObject({ error: 'Service Unavailable', retryAfterSeconds: 5 });

        expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(503);
        expect((await fetch(`${baseUrl}/health/live`)).status).toBe(200);
      } finally {
        proxy.up();
      }
      await eventually(async () => (await fetch(`${baseUrl}/`)).status === 200, { timeoutMs: 30_000, intervalMs: 250 });
      expect((await register()).status).toBe(303);
      expect(alive(), log()).toBe(true);
    }, 60_000);
  },
);

/** A TCP proxy to PostgreSQL that can play an outage: `down()` cuts every connection and refuses new ones. */
async function startProxy(target: URL) {
  const sockets = new Set<Socket>();
  let isDown = false;
  const server: Server = createServer((client) => {
    if (isDown) return void client.destroy();
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no proxy port');
  return {
    port: address.port,
    down() {
      isDown = true;
      for (const socket of sockets) socket.destroy();
    },
    up() {
      isDown = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function countBy(values: number[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
