import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  createTestDatabase,
  eventually as eventuallyFound,
  type TestDatabase,
  testPgliteTemplate,
} from 'message-db-toolkit/controls';
import { readConfig } from '../config.js';
import { startSystem, type Selection, type System } from '../system.js';
import { browserSession } from '../test-support/browser-session.js';

/**
 * The running system for the security tests, driven only over HTTP (and e-mails as files), on PGlite or, with
 * TEST_POSTGRES_URL, on a fresh PostgreSQL database.
 */
export async function startRunningSystem(
  env: NodeJS.ProcessEnv = {},
  selection: Selection = { web: true, workers: true },
  options: { passwordResetLinkTtlMs?: number } = {},
) {
  const directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-security-'));
  const settings: NodeJS.ProcessEnv = { NODE_ENV: 'test', DATA_DIRECTORY: directory, ...env };
  let database: TestDatabase | null = null;
  if (process.env.TEST_POSTGRES_URL) {
    database = await createTestDatabase({ install: false });
    settings.MESSAGE_STORE_CONNECTION_STRING = database.connectionString!;
    settings.DATABASE_URL = database.connectionString!;
  }
  const system: System = await startSystem(readConfig(settings), selection, {
    logInAttemptsPerMinute: 1000,
    pgliteTemplate: await testPgliteTemplate(),
    ...options,
  });
  const emailDirectory = path.join(directory, 'emails');

  const caughtUp = () =>
    Promise.all(
      system.pieces.flatMap((piece) => piece.subscriptions).map((subscription) => subscription.waitUntilCaughtUp()),
    );

  /** Waits for what the system does in its own time: tests give it longer than the toolkit's default. */
  const eventually = <T>(find: () => Promise<T | undefined>, timeoutMs = 30_000) =>
    eventuallyFound(find, { timeoutMs, intervalMs: 50 });

  /** The e-mails sent to `to` so far, raw (quoted-printable soft breaks joined). */
  async function emailsTo(to: string): Promise<string[]> {
    const files = await readdir(emailDirectory).catch(() => [] as string[]);
    const emails = await Promise.all(
      files.filter((file) => file.endsWith('.eml')).map((file) => readFile(path.join(emailDirectory, file), 'utf8')),
    );
    return emails
      .filter((email) => email.includes(`To: ${to}`))
      .map((email) => email.replace(/=\r?\n/g, '').replace(/=3D/g, '='));
  }

  /** Registers `email` through the register page and waits until it can log in. */
  async function register(email: string, password: string) {
    const browser = browserSession(system.web!);
    const form = await browser.get('/register');
    const userId = /name="userId" value="([^"]+)"/.exec(form.body)![1]!;
    const response = await browser.post('/register', { userId, email, password });
    if (response.statusCode !== 303) throw new Error(`registration answered ${response.statusCode}`);
    await eventually(async () => {
      const rows = await system.viewData.query('SELECT 1 FROM user_credentials WHERE id = $1', [userId]);
      return rows.length > 0 ? true : undefined;
    });
    return userId;
  }

  /** A browser logged in as `email`. */
  async function logIn(email: string, password: string, remoteAddress = '127.0.0.1') {
    const browser = browserSession(system.web!, { remoteAddress });
    await browser.get('/auth/log-in');
    const response = await browser.post('/auth/log-in', { email, password });
    return { browser, response };
  }

  return {
    system,
    caughtUp,
    eventually,
    emailsTo,
    register,
    logIn,
    async stop() {
      await system.stop();
      await database?.drop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export type RunningSystem = Awaited<ReturnType<typeof startRunningSystem>>;
