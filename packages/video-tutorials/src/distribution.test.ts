import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createMessageStore, type Database } from 'message-db-toolkit';
import { createPostgresDatabase } from 'message-db-toolkit/postgres';
import { createTestDatabase, eventually, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_SEARCH_PATH } from './view-data/migrations.js';

/**
 * Distribution on PostgreSQL, with real processes: the web applications in
 * one, identity scaled out to three worker processes as a consumer group, the
 * other pieces in a fourth. One identity worker is killed with SIGKILL in the
 * middle of the run. Afterwards: no duplicate events, no lost work, and the
 * View Data converged.
 */
const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const main = path.join(repositoryRoot, 'packages', 'video-tutorials', 'src', 'main.ts');
const USERS = 24;

describe.runIf(Boolean(process.env.TEST_POSTGRES_URL))('distributed over processes', () => {
  let database: TestDatabase;
  let db: Database;
  let directory: string;
  const processes: { name: string; child: ChildProcess; output: string[] }[] = [];
  let port = 0;

  function startProcess(name: string, args: string[], ownPort = port) {
    const output: string[] = [];
    // node itself with tsx's loader, not the tsx wrapper: a SIGKILL must reach the process that does the work.
    const child = spawn(process.execPath, ['--import', 'tsx', main, 'start', ...args], {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'warn',
        PORT: String(ownPort),
        DATA_DIRECTORY: directory,
        MESSAGE_STORE_CONNECTION_STRING: database.connectionString!,
        DATABASE_URL: database.connectionString!,
        CONSUMER_GROUP_SIZE: '3',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const started = { name, child, output };
    processes.push(started);
    return started;
  }

  beforeAll(async () => {
    database = await createTestDatabase({ install: false });
    db = createPostgresDatabase({ connectionString: database.connectionString!, searchPath: SHARED_SEARCH_PATH });
    directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-distributed-'));
    port = await freePort();
  });
  afterAll(async () => {
    const exited = processes
      .filter(({ child }) => child.exitCode === null && child.signalCode === null)
      .map(({ child }) => once(child, 'exit'));
    for (const { child } of processes) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(exited);
    await db?.close();
    await database?.drop();
    await rm(directory, { recursive: true, force: true });
  });

  it('converges with no duplicates after a worker is killed mid-run', async () => {
    startProcess('web', ['--web']);
    const workerPort = await freePort();
    const identities = [1, 2, 3].map((n) =>
      startProcess(`identity-${n}`, ['--only', 'identity'], n === 1 ? workerPort : 0),
    );
    startProcess('others', ['--only', 'send-email,user-credentials-aggregator,home-page-aggregator'], 0);
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true, {
      timeoutMs: 90_000,
      intervalMs: 250,
    });
    // A worker serves its own metrics and health.
    await eventually(
      async () => (await fetch(`http://127.0.0.1:${workerPort}/health/live`).catch(() => null))?.ok === true,
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    // Let the three identity processes share out the group's slots (no signal says which process holds which).
    await sleep(6_000);

    const userIds: string[] = [];
    for (let user = 0; user < USERS; user++) {
      userIds.push(await register(`http://127.0.0.1:${port}`, `spread-${user}-${Date.now()}@example.com`));
      if (user === USERS / 3) identities[0]!.child.kill('SIGKILL');
    }

    const store = createMessageStore({ db });
    const typesOf = async (streamName: string) => (await store.read(streamName)).map((message) => message.type);
    await eventually(
      async () => {
        for (const userId of userIds)
          if (!(await typesOf(`identity-${userId}`)).includes('RegistrationEmailSent')) return false;
        return true;
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    ).catch(async (error: unknown) => {
      for (const { name, output } of processes) console.log(`--- ${name}\n${output.join('').slice(-3000)}`);
      // Where each unfinished registration stopped, and what the e-mail streams hold.
      for (const userId of userIds) {
        const types = await typesOf(`identity-${userId}`);
        if (!types.includes('RegistrationEmailSent')) console.log(`identity-${userId}: ${types.join(', ')}`);
      }
      const counts = await db.query(
        `SELECT split_part(stream_name, '-', 1) AS category, type, count(*)::int AS count
           FROM message_store.messages GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      console.log(JSON.stringify(counts));
      throw error;
    });

    for (const userId of userIds)
      expect(await typesOf(`identity-${userId}`)).toEqual([
        'Registered',
        'EmailConfirmationRequested',
        'RegistrationEmailSent',
      ]);
    const sends = await store.read('sendEmail:command', { from: 0, max: 10_000 });
    const sent = await store.read('sendEmail', { from: 0, max: 10_000 });
    expect(sends).toHaveLength(USERS);
    expect(sent.filter((message) => message.type === 'Sent')).toHaveLength(USERS);
    await eventually(
      async () => {
        const [row] = await db.query<{ count: number }>(
          'SELECT count(*)::int AS count FROM user_credentials WHERE id = ANY($1::uuid[])',
          [userIds],
        );
        return row?.count === USERS;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    // The killed process is gone; the other two hold every slot between them.
    expect(identities[0]!.child.signalCode).toBe('SIGKILL');
    expect(identities[1]!.child.exitCode).toBeNull();
  }, 420_000);
});

async function register(baseUrl: string, email: string): Promise<string> {
  const form = await fetch(`${baseUrl}/register`);
  const body = await form.text();
  const cookie = form.headers
    .getSetCookie()
    .map((header) => header.split(';')[0])
    .join('; ');
  const csrf = /name="_csrf" value="([^"]+)"/.exec(body)![1]!;
  const userId = /name="userId" value="([^"]+)"/.exec(body)![1]!;
  const response = await fetch(`${baseUrl}/register`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, userId, email, password: 'distributed secret' }).toString(),
  });
  expect(response.status).toBe(303);
  return userId;
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
