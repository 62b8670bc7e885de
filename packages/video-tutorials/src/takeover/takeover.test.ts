import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installMessageDb, type Database } from 'message-db-toolkit';
import { createPgliteDatabase } from 'message-db-toolkit/pglite';
import {
  createFreshPostgresDatabase,
  createTestDatabase,
  eventually,
  TEST_POSTGRES_URL,
  testPgliteTemplate,
} from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOverdueRegistrations } from '../aggregators/registration-monitor/index.js';
import { startTestSmtpServer, type TestSmtpServer } from '../components/send-email/controls.js';
import { readConfig } from '../config.js';
import { startSystem, type System } from '../system.js';
import { browserSession } from '../test-support/browser-session.js';
import { BOOK_SUBSCRIBERS, writeBookHistory, type BookHistory, type BookUser } from './book-history.js';

/**
 * Issue 10: a message store written by the book's own system (`book-history.ts`), then this system started on it
 * with empty View Data — PGlite (View Data shares the database) or, with TEST_POSTGRES_URL, PostgreSQL with View
 * Data in a database of its own. Every page a user and an admin look at must show the book's history, and
 * nothing may be parked, sent twice or decided twice.
 */
const VIDEOS = 70;
/** The home page lists the newest published videos, this many. */
/** A user registered after the takeover, beside the book's. */
const NEW_EMAIL = 'after-the-book@example.com';
const NEW_PASSWORD = 'a password of this system';
/** One of the book's users is an admin: `ADMIN_EMAILS` names its address. */
const BOOK_ADMIN_INDEX = 4;
const bookAdminUser = () => history.users[BOOK_ADMIN_INDEX]!;

let directory: string;
let smtp: TestSmtpServer;
let system: System;
let history: BookHistory;
let before: Map<string, number>;
/** Log-ins this test made, by user id: they come on top of the book's. */
const ourLogIns = new Map<string, number>();
const cleanups: (() => Promise<void>)[] = [];
let stopped = false;
let openMessageStoreAgain: () => Promise<Database>;

beforeAll(async () => {
  directory = await mkdtemp(path.join(tmpdir(), 'video-tutorials-takeover-'));
  smtp = await startTestSmtpServer();
  const env: NodeJS.ProcessEnv = {
    NODE_ENV: 'test',
    DATA_DIRECTORY: directory,
    SMTP_URL: smtp.url,
    APP_URL: 'http://localhost:3000',
    LOG_LEVEL: 'silent',
  };
  let bookStore: Database;
  if (TEST_POSTGRES_URL) {
    const messageStore = await createTestDatabase({ install: true });
    const viewData = await createFreshPostgresDatabase(TEST_POSTGRES_URL, 'view_data_test');
    cleanups.push(
      () => messageStore.drop(),
      () => viewData.drop(),
    );
    bookStore = messageStore.db;
    env.MESSAGE_STORE_CONNECTION_STRING = messageStore.connectionString!;
    env.DATABASE_URL = viewData.connectionString;
    openMessageStoreAgain = async () => messageStore.connectAgain();
  } else {
    // The embedded store the system opens: the book's history is written into it first, then it is closed.
    const dataDir = path.join(directory, 'message-store');
    bookStore = await createPgliteDatabase({ dataDir, loadDataDir: await testPgliteTemplate() });
    await installMessageDb(bookStore);
    openMessageStoreAgain = () => createPgliteDatabase({ dataDir });
  }
  // Enough video commands (over 100) for the book's video-publishing to have recorded a position.
  history = await writeBookHistory(bookStore, { videos: VIDEOS });
  env.ADMIN_EMAILS = bookAdminUser().email;
  before = await messageCounts(bookStore);
  if (!TEST_POSTGRES_URL) await bookStore.close();

  system = await startSystem(
    readConfig(env),
    { web: true, workers: true },
    {
      logInAttemptsPerMinute: 10_000,
      pgliteTemplate: await testPgliteTemplate(),
    },
  );
  await caughtUp();
}, 240_000);

afterAll(async () => {
  if (!stopped) await system?.stop();
  for (const cleanup of cleanups) await cleanup();
  await smtp?.close();
  await rm(directory, { recursive: true, force: true });
});

/** Until every consumer has read everything, including what the others wrote meanwhile. */
async function caughtUp() {
  const subscriptions = system.pieces.flatMap((piece) => piece.subscriptions);
  for (let lastHead = -1; ;) {
    await Promise.all(subscriptions.map((subscription) => subscription.waitUntilCaughtUp({ timeoutMs: 120_000 })));
    const [row] = await system.messageStoreDb.query<{ head: string | number | null }>(
      'SELECT max(global_position) AS head FROM message_store.messages',
    );
    const head = Number(row?.head ?? 0);
    if (head === lastHead) return;
    lastHead = head;
  }
}

/** How long the running system is given, and how often it is asked. */
const patience = { timeoutMs: 30_000, intervalMs: 50 };

/** How many messages of each `type` each stream holds: `streamName|type` → count. */
async function messageCounts(db: Database) {
  const rows = await db.query<{ stream_name: string; type: string; count: string | number }>(
    'SELECT stream_name, type, count(*) AS count FROM message_store.messages GROUP BY stream_name, type',
  );
  return new Map(rows.map((row) => [`${row.stream_name}|${row.type}`, Number(row.count)]));
}

async function messagesOf(streamName: string) {
  return system.store.read(streamName);
}

const videosWatched = (body: string) =>
  Number(/data-testid="videos-watched">([\d,]+)</.exec(body)?.[1]?.replace(/,/g, ''));

async function logIn(email: string, password: string) {
  const browser = browserSession(system.web!);
  await browser.get('/auth/log-in');
  const response = await browser.post('/auth/log-in', { email, password });
  const user = history.users.find((each) => each.email === email);
  if (user && response.statusCode === 303) ourLogIns.set(user.id, (ourLogIns.get(user.id) ?? 0) + 1);
  return { browser, statusCode: response.statusCode };
}

function emailsTo(address: string) {
  return smtp.received.filter((email) => email.envelopeTo.some((to) => to.toLowerCase() === address.toLowerCase()));
}

const bookUsers = () => history.users;
const ownersOf = () => [...new Set(history.videos.map((video) => video.ownerId))];
const userById = (id: string) => history.users.find((user) => user.id === id)!;

describe('taking over a message store written by the book', () => {
  it('writes a history the way the book does (the fixture itself)', async () => {
    expect(history.users.map((user) => user.passwordHash.slice(0, 7))).toEqual(history.users.map(() => '$2b$10$'));
    expect(history.users.filter((user) => user.registration !== 'complete').map((user) => user.registration)).toEqual([
      'sent-not-recorded',
      'send-not-sent',
    ]);
    // Positions the book's subscribers kept: every 100 messages, so some are behind.
    expect(history.positions['aggregators:home-page']).toBeGreaterThan(0);
    expect(history.positions['components:identity:command']).toBeGreaterThan(0);
    expect(history.positions['components:send-email']).toBeGreaterThan(0);
    expect(history.positions['video-publishing']).toBeGreaterThan(0);
    const anonymous = await system.messageStoreDb.query<{ count: string | number }>(
      `SELECT count(*) AS count FROM message_store.messages
        WHERE type = 'VideoViewed' AND NOT (data ? 'userId') AND NOT (metadata ? 'userId')`,
    );
    expect(Number(anonymous[0]!.count)).toBe(history.viewings.anonymous);
    expect(history.viewings.sampleVideo).toBeGreaterThan(0);
    const sent = await messagesOf(`sendEmail-${bookUsers()[0]!.emailId}`);
    expect(sent.map((message) => Object.keys(message.metadata).sort())).toEqual([
      ['originStreamName', 'traceId', 'userId'],
    ]);
  });

  it('parks nothing', async () => {
    // Summed up by consumer, type and reason, so a failure says what went wrong and how often.
    const parked = await system.messageStoreDb.query<{ parked: string; count: string | number }>(
      `SELECT concat_ws(' ', data->>'subscriberId', data->>'type', data->>'error') AS parked, count(*) AS count
         FROM message_store.messages
        WHERE message_store.category(stream_name) = 'parkedMessages' AND type = 'MessageParked'
        GROUP BY 1 ORDER BY 1`,
    );
    expect(parked.map((row) => `${row.count}× ${row.parked}`)).toEqual([]);
  });

  it('counts every viewing the book recorded on the home page', async () => {
    const home = await browserSession(system.web!).get('/');
    expect(videosWatched(home.body)).toBe(history.viewings.total);
  });

  it('shows the book’s videos in the catalogue and on their watch pages, with names and views', async () => {
    // The catalogue's pages, followed by their Next links as a visitor would.
    let catalogue = '';
    for (let at: string | undefined = '/videos'; at;) {
      const body: string = (await browserSession(system.web!).get(at)).body;
      catalogue += body;
      at = /rel="next" href="([^"]+)"/.exec(body)?.[1]?.replace(/&amp;/g, '&');
    }
    const wrong: string[] = [];
    for (const video of history.videos) {
      if (!catalogue.includes(`href="/videos/${video.id}"`)) wrong.push(`catalogue: no link to ${video.id}`);
      if (video.name && !catalogue.includes(`>${video.name}<`)) wrong.push(`catalogue: no "${video.name}"`);
    }
    for (const video of history.videos) {
      const page = await browserSession(system.web!).get(`/videos/${video.id}`);
      if (page.statusCode !== 200) {
        wrong.push(`/videos/${video.id}: ${page.statusCode}`);
        continue;
      }
      if (video.name && !page.body.includes(`>${video.name}<`)) wrong.push(`/videos/${video.id}: no "${video.name}"`);
      for (const earlier of video.namesAsked.filter((name) => name && name !== video.name))
        if (page.body.includes(`>${earlier}<`)) wrong.push(`/videos/${video.id}: still named "${earlier}"`);
      // The book's fake transcoding left an external URL: linked, never embedded (web/media.ts).
      if (!page.body.includes(`href="${video.transcodedUri}"`))
        wrong.push(`/videos/${video.id}: no link to ${video.transcodedUri}`);
      const views = Number(/data-testid="view-count">(\d+)</.exec(page.body)?.[1]);
      if (views !== video.views) wrong.push(`/videos/${video.id}: ${views} views, the book recorded ${video.views}`);
    }
    expect(wrong).toEqual([]);
  });

  it('shows the owners their videos in the creators portal, named', async () => {
    const wrong: string[] = [];
    for (const ownerId of ownersOf()) {
      const owner = userById(ownerId);
      const { browser, statusCode } = await logIn(owner.email, owner.password);
      expect(statusCode).toBe(303);
      const dashboard = (await browser.get('/creators-portal')).body;
      for (const video of history.videos.filter((each) => each.ownerId === ownerId)) {
        if (!dashboard.includes(`/creators-portal/videos/${video.id}`))
          wrong.push(`${owner.email}'s portal: no ${video.id}`);
        if (video.name && !dashboard.includes(`>${video.name}<`))
          wrong.push(`${owner.email}'s portal: no "${video.name}"`);
        const page = await browser.get(`/creators-portal/videos/${video.id}`);
        if (page.statusCode !== 200) wrong.push(`/creators-portal/videos/${video.id}: ${page.statusCode}`);
        else if (video.name && !page.body.includes(`>${video.name}<`))
          wrong.push(`/creators-portal/videos/${video.id}: no "${video.name}"`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('records every book registration as complete, once, and e-mails only the one the book had not sent', async () => {
    const wrong: string[] = [];
    const times = (types: string[], type: string) => types.filter((each) => each === type).length;
    for (const user of bookUsers()) {
      const who = `${user.email} (${user.registration})`;
      const identity = (await messagesOf(`identity-${user.id}`)).map((message) => message.type);
      if (times(identity, 'Registered') !== 1) wrong.push(`${who}: ${times(identity, 'Registered')} Registered`);
      if (times(identity, 'RegistrationEmailSent') !== 1)
        wrong.push(`${who}: ${times(identity, 'RegistrationEmailSent')} RegistrationEmailSent`);
      const commands = (await messagesOf(`sendEmail:command-${user.emailId}`)).map((message) => message.type);
      if (times(commands, 'Send') !== 1) wrong.push(`${who}: ${times(commands, 'Send')} Send`);
      const sent = (await messagesOf(`sendEmail-${user.emailId}`)).map((message) => message.type);
      if (times(sent, 'Sent') !== 1) wrong.push(`${who}: ${times(sent, 'Sent')} Sent`);
      const expected = user.registration === 'send-not-sent' ? 1 : 0;
      if (emailsTo(user.email).length !== expected)
        wrong.push(`${who}: ${emailsTo(user.email).length} e-mails on the SMTP server, expected ${expected}`);
    }
    expect(wrong).toEqual([]);
    // No registration e-mail or confirmation request of this system for any of the book's users.
    const requested = await system.messageStoreDb.query<{ count: string | number }>(
      `SELECT count(*) AS count FROM message_store.messages
        WHERE type = 'Send' AND data->>'to' LIKE 'book-user-%'`,
    );
    expect(Number(requested[0]!.count)).toBe(bookUsers().length);
  });

  it('decides none of the book’s commands again', async () => {
    const after = await messageCounts(system.messageStoreDb);
    const again: string[] = [];
    for (const [key, count] of before) {
      const [streamName, type] = key.split('|') as [string, string];
      // Position records and this system's own messages come on top; the book's own messages must not.
      if (streamName.startsWith('subscriberPosition-')) continue;
      const ours = type === 'UserLoggedIn' ? (ourLogIns.get(streamName.slice('authentication-'.length)) ?? 0) : 0;
      const now = (after.get(key) ?? 0) - ours;
      if (now !== count && !(type === 'RegistrationEmailSent' || type === 'Sent'))
        again.push(`${key}: ${count} → ${now}`);
    }
    for (const video of history.videos) {
      const types = (await messagesOf(`videoPublishing-${video.id}`)).map((message) => message.type);
      const times = (type: string) => types.filter((each) => each === type).length;
      if (times('VideoPublished') !== 1)
        again.push(`videoPublishing-${video.id}: ${times('VideoPublished')} VideoPublished`);
      if (times('VideoNamed') !== video.namesAsked.filter(Boolean).length)
        again.push(`videoPublishing-${video.id}: ${times('VideoNamed')} VideoNamed`);
      if (times('VideoNameRejected') !== video.namesAsked.filter((name) => !name).length)
        again.push(`videoPublishing-${video.id}: ${times('VideoNameRejected')} VideoNameRejected`);
      if (times('VideoPublishingFailed') > 0) again.push(`videoPublishing-${video.id}: VideoPublishingFailed`);
      const transcoding = await system.messageStoreDb.query<{ stream_name: string }>(
        `SELECT stream_name FROM message_store.messages WHERE data->>'videoId' = $1
            AND message_store.category(stream_name) IN ('transcode:command', 'transcribe:command')`,
        [video.id],
      );
      for (const { stream_name } of transcoding) again.push(`${stream_name}: the book's video sent to be processed`);
    }
    expect(again).toEqual([]);
    // Nothing the book decided is decided again: no second event of one kind for one identity.
    const doubled = await system.messageStoreDb.query<{ stream_name: string; type: string; count: string | number }>(
      `SELECT stream_name, type, count(*) AS count FROM message_store.messages
        WHERE message_store.category(stream_name) IN ('identity', 'identityEmail', 'sendEmail', 'sendEmail:command')
          AND type IN ('Registered', 'EmailReserved', 'EmailConfirmationRequested', 'RegistrationEmailSent', 'Send', 'Sent')
        GROUP BY stream_name, type HAVING count(*) > 1`,
    );
    expect(doubled.map((row) => `${row.stream_name}: ${row.count}× ${row.type}`)).toEqual([]);
  });

  it('flags no registration whose e-mail was sent (registration monitor)', async () => {
    const monitor = system.pieces.find((piece) => piece.name === 'registration-monitor') as unknown as {
      flagOverdue(now?: Date): Promise<number>;
    };
    // An hour from now every registration without a recorded e-mail is overdue.
    await monitor.flagOverdue(new Date(Date.now() + 60 * 60_000));
    const overdue = await listOverdueRegistrations(system.viewData);
    expect(overdue.map((registration) => registration.email)).toEqual([]);
  });

  it('registers a new user beside the book’s, with the registration e-mail', async () => {
    const browser = browserSession(system.web!);
    const form = await browser.get('/register');
    const userId = /name="userId" value="([^"]+)"/.exec(form.body)![1]!;
    expect((await browser.post('/register', { userId, email: NEW_EMAIL, password: NEW_PASSWORD })).statusCode).toBe(
      303,
    );
    await eventually(async () => emailsTo(NEW_EMAIL)[0], patience);
    await caughtUp();
    expect((await logIn(NEW_EMAIL, NEW_PASSWORD)).statusCode).toBe(303);
  });

  it('lets a book user in ADMIN_EMAILS confirm the address and see the book’s history in the admin portal', async () => {
    const bookAdmin = bookAdminUser();
    const { browser, statusCode } = await logIn(bookAdmin.email, bookAdmin.password);
    expect(statusCode).toBe(303);
    // The book never confirmed addresses; the admin role needs one: "send it again", then the link.
    await browser.get('/');
    await browser.post('/auth/confirmation-email');
    const email = await eventually(async () => emailsTo(bookAdmin.email)[0], patience);
    const raw = email.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const link = /\/auth\/confirm-email\?userId=([0-9a-f-]{36})&(?:amp;)?token=([A-Za-z0-9_-]+)/.exec(raw)!;
    await browser.get(`/auth/confirm-email?userId=${link[1]}&token=${link[2]}`);
    await browser.post('/auth/confirm-email', { userId: link[1]!, token: link[2]! });
    await eventually(
      async () =>
        (await messagesOf(`identity-${bookAdmin.id}`)).some((message) => message.type === 'EmailConfirmed')
          ? true
          : undefined,
      patience,
    );
    await caughtUp();
    const admin = await logIn(bookAdmin.email, bookAdmin.password);
    expect(admin.statusCode).toBe(303);
    await caughtUp(); // this log-in too is on the admin's user page
    const get = async (url: string) => {
      const response = await admin.browser.get(url);
      expect(response.statusCode, url).toBe(200);
      return response.body;
    };

    const wrong: string[] = [];
    const health = await get('/admin');
    const parkedCount = /admin-stat-value">([\d,]+)<\/span><span class="admin-stat-label">parked message/.exec(
      health,
    )?.[1];
    if (parkedCount !== '0') wrong.push(`/admin: ${parkedCount} parked messages`);
    const flagged = /<h2>Registrations without their e-mail<\/h2>[\s\S]*?<\/section>/.exec(health)?.[0] ?? '';
    for (const user of bookUsers()) if (flagged.includes(user.email)) wrong.push(`/admin: ${user.email} flagged`);
    const behind = /<h2>Consumers behind<\/h2>[\s\S]*?<\/section>/.exec(health)?.[0] ?? '';
    for (const [, consumer] of behind.matchAll(/<tr>\s*<td>([^<]+)<\/td>/g)) wrong.push(`/admin: ${consumer} behind`);

    for (const user of bookUsers()) {
      const page = await get(`/admin/users/${user.id}`);
      if (!page.includes(user.email)) wrong.push(`/admin/users/${user.id}: no ${user.email}`);
      const sent = /<dt>Registration e-mail<\/dt>\s*<dd>(sent|not sent)/.exec(page)?.[1];
      if (sent !== 'sent') wrong.push(`/admin/users/${user.id} (${user.email}): registration e-mail ${sent}`);
      const logIns = /<dt>Log-ins<\/dt>\s*<dd>\s*(\d+)\b[\s\S]*?(\d+) failed/.exec(page);
      const expected = user.logIns + (ourLogIns.get(user.id) ?? 0);
      if (logIns?.[1] !== String(expected) || logIns[2] !== String(user.failedLogIns))
        wrong.push(
          `/admin/users/${user.id} (${user.email}): ${logIns?.[1]} log-ins, ${logIns?.[2]} failed; ` +
            `expected ${expected} (${user.logIns} the book's), ${user.failedLogIns} failed`,
        );
      const watched = /<dt>Videos watched<\/dt>\s*<dd>(\d+)/.exec(page)?.[1];
      if (watched !== String(user.views))
        wrong.push(
          `/admin/users/${user.id} (${user.email}): ${watched} videos watched, the book recorded ${user.views}`,
        );
    }

    if (!(await get('/admin/streams?category=viewing')).includes('viewing-12345'))
      wrong.push('/admin/streams: no viewing-12345');
    if (!(await get('/admin/streams?category=identity')).includes(`identity-${bookUsers().at(-1)!.id}`))
      wrong.push('/admin/streams: not the last book user’s identity stream');
    if (!(await get('/admin/messages?category=viewing&type=VideoViewed')).includes('VideoViewed'))
      wrong.push('/admin/messages: no VideoViewed');
    const [anonymousViewing] = await system.messageStoreDb.query<{ id: string }>(
      `SELECT id FROM message_store.messages WHERE type = 'VideoViewed' AND NOT (data ? 'userId') LIMIT 1`,
    );
    if (!(await get(`/admin/messages/${anonymousViewing!.id}`)).includes('viewing-'))
      wrong.push('/admin/messages/{id}: not the anonymous viewing');
    const categories = await get('/admin/categories');
    const viewing =
      /">viewing<\/a><\/td>\s*<td class="number">\s*<a [^>]*>([\d,]+)<\/a>\s*<\/td>\s*<td class="number">([\d,]+)</.exec(
        categories,
      );
    const viewedVideos =
      history.videos.filter((video) => video.views > 0).length + (history.viewings.sampleVideo > 0 ? 1 : 0);
    if (viewing?.[1] !== String(viewedVideos) || viewing[2] !== String(history.viewings.total))
      wrong.push(
        `/admin/categories: viewing has ${viewing?.[1]} streams, ${viewing?.[2]} messages; ` +
          `the book wrote ${viewedVideos}, ${history.viewings.total}`,
      );
    // The book's component ids are listed as carried on by this system's consumers (which read on from there).
    const consumers = await get('/admin/subscriber-positions');
    for (const subscriberId of ['components:identity:command', 'components:identity', 'components:send-email']) {
      const row = new RegExp(
        `>${subscriberId}</a>\\s*</td>\\s*<td>\\s*<span class="muted">carried on by ([^<]+)<`,
      ).exec(consumers);
      if (!row) wrong.push(`/admin/subscriber-positions: ${subscriberId} not shown as carried on`);
    }
    if (!consumers.includes('aggregators:home-page'))
      wrong.push('/admin/subscriber-positions: no aggregators:home-page');
    expect(wrong).toEqual([]);
  });

  it('lets every book user log in with the password the book hashed', async () => {
    const refused: string[] = [];
    for (const user of bookUsers() satisfies BookUser[]) {
      const { statusCode } = await logIn(user.email, user.password);
      if (statusCode !== 303) refused.push(`${user.email}: ${statusCode}`);
    }
    expect(refused).toEqual([]);
  }, 240_000);

  it('sent only the e-mails asked for since the takeover, each once', async () => {
    await caughtUp();
    const inFlight = history.users.find((user) => user.registration === 'send-not-sent')!;
    // The registration the book left unsent, the new user's registration, the admin's confirmation link sent again.
    const expected = [inFlight.email, NEW_EMAIL, bookAdminUser().email].sort();
    expect(smtp.received.flatMap((email) => email.envelopeTo).sort()).toEqual(expected);
  });

  it('stops without having written into the book’s position records', async () => {
    // Both systems may run side by side: this one keeps its positions where the book's never are. A consumer
    // records its position when it stops, so this is checked once the system has stopped.
    await system.stop();
    stopped = true;
    const reopened = await openMessageStoreAgain();
    try {
      const after = await messageCounts(reopened);
      const written = BOOK_SUBSCRIBERS.map(({ subscriberId }) => `subscriberPosition-${subscriberId}|Read`)
        .filter((key) => (after.get(key) ?? 0) !== (before.get(key) ?? 0))
        .map((key) => `${key}: ${before.get(key) ?? 0} → ${after.get(key) ?? 0}`);
      expect(written).toEqual([]);
    } finally {
      await reopened.close();
    }
  });
});
