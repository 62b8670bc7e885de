import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createParkingLot,
  createSubscription,
  follow,
  type Message,
  type MessageStore,
  type StoredMessage,
} from 'message-db-toolkit';
import { eventually, exampleMessage, type TestDatabase, uniqueCategory } from 'message-db-toolkit/controls';
import type { FastifyInstance } from 'fastify';
import { createSessions } from '../authenticate/sessions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as adminMessageIndex from '../../aggregators/admin-message-index/index.js';
import * as adminStreams from '../../aggregators/admin-streams/index.js';
import * as adminSubscriberPositions from '../../aggregators/admin-subscriber-positions/index.js';
import * as adminUsers from '../../aggregators/admin-users/index.js';
import { authenticationStreamName, UserLoggedIn } from '../../contracts/authentication.js';
import { AccountLocked, identityCommandStreamName, identityStreamName, Registered } from '../../contracts/identity.js';
import { VideoViewed, viewingStreamName } from '../../contracts/viewing.js';
import { hashPassword } from '../../passwords.js';
import type { Piece } from '../../piece.js';
import { createSystemTestDatabase } from '../../test-support/database.js';
import { browserSession } from '../../test-support/browser-session.js';
import { buildWebServer } from '../../web/server.js';
import { createAuthenticateApp } from '../authenticate/index.js';
import { CARRIED_ON_BY, CONSUMER_READS } from './consumers.js';
import { createAdminApp } from './index.js';

let test: TestDatabase & { store: MessageStore };
let store: MessageStore;
let app: FastifyInstance;
let pieces: Piece[];
let passwordHash: string;
const PASSWORD = 'a password for tests';
const STREAM_SCAN_WINDOW_OF_TESTS = 100;
const adminEmail = `Admin-${randomUUID().slice(0, 8)}@Example.com`;

beforeAll(async () => {
  test = await createSystemTestDatabase();
  store = test.store;
  passwordHash = await hashPassword(PASSWORD);
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: 'a-test-cookie-secret-of-at-least-32-chars',
    secureCookies: false,
    adminEmails: [adminEmail.toLowerCase()],
    sessions: createSessions({ store, viewData: test.db }),
    applications: [
      createAuthenticateApp({ store, viewData: test.db, logInAttemptsPerMinute: 1000 }),
      // ADMIN_EMAILS arrive lower-cased; the admin signs in with capitals.
      // A small scan window, so that a page of streams can run out of it with a few hundred messages.
      createAdminApp({
        store,
        viewData: test.db,
        adminEmails: [adminEmail.toLowerCase()],
        streamScanWindow: STREAM_SCAN_WINDOW_OF_TESTS,
      }),
    ],
  });
  pieces = [adminUsers, adminStreams, adminSubscriberPositions, adminMessageIndex].map((aggregator) =>
    aggregator.build({ store, viewData: test.db }),
  );
  for (const piece of pieces) await piece.start();
});
afterAll(async () => {
  for (const piece of pieces) await piece.stop();
  await app.close();
  await test.drop();
});

const caughtUp = () =>
  Promise.all(pieces.flatMap((piece) => piece.subscriptions).map((subscription) => subscription.waitUntilCaughtUp()));

async function written(streamName: string, message: Message): Promise<StoredMessage> {
  const { position } = await store.write(streamName, message);
  const [stored] = await store.read(streamName, { from: position, max: 1 });
  return stored!;
}

const accounts = new Map<string, string>();

/** A browser signed in as `email`, whose credentials are made the first time. */
async function signedIn(email: string) {
  let userId = accounts.get(email);
  if (!userId) {
    userId = randomUUID();
    // Confirmed: the admin role needs a confirmed address.
    await test.db.query(
      'INSERT INTO user_credentials (id, email, password_hash, email_confirmed) VALUES ($1, $2, $3, true)',
      [userId, email, passwordHash],
    );
    accounts.set(email, userId);
  }
  const browser = browserSession(app);
  await browser.get('/auth/log-in');
  expect((await browser.post('/auth/log-in', { email, password: PASSWORD })).statusCode).toBe(303);
  return { browser, userId };
}

/** A registered user whose account got locked, who logged in once and watched a video. */
async function lockedUser(email = `user-${randomUUID().slice(0, 8)}@example.com`) {
  const userId = randomUUID();
  const videoId = randomUUID();
  const metadata = { traceId: randomUUID(), userId };
  await written(identityStreamName(userId), Registered.create({ userId, email, passwordHash: 'x' }, { metadata }));
  await written(authenticationStreamName(userId), UserLoggedIn.create({ userId }, { metadata }));
  await written(viewingStreamName(videoId), VideoViewed.create({ userId, videoId }, { metadata }));
  await written(
    identityStreamName(userId),
    AccountLocked.create({ userId, reason: 'too many failed log-ins', failedLoginCount: 5 }, { metadata }),
  );
  return { userId, email, videoId };
}

/** A request: one message, what it caused, and what that caused, all under one trace id. */
async function tracedRequest() {
  const traceId = randomUUID();
  const category = uniqueCategory('traced');
  const asked = await written(`${category}-1`, exampleMessage({ type: 'Asked', metadata: { traceId } }));
  const accepted = await written(`${category}-2`, follow(asked, exampleMessage({ type: 'Accepted', metadata: {} })));
  const done = await written(`${category}-2`, follow(accepted, exampleMessage({ type: 'Done', metadata: {} })));
  const noted = await written(`${category}-3`, follow(asked, exampleMessage({ type: 'Noted', metadata: {} })));
  return { traceId, asked, accepted, done, noted };
}

const SCRIPT = '<script>alert(1)</script>';

describe('who may use the admin portal', () => {
  it('lets nobody but an admin reach any admin page or action', async () => {
    const user = await lockedUser();
    const { traceId, asked } = await tracedRequest();
    await caughtUp();
    const streamName = asked.streamName;
    const pages = [
      '/admin',
      '/admin/users',
      `/admin/users/${user.userId}`,
      '/admin/messages',
      `/admin/messages?category=${asked.streamName.split('-')[0]}&type=Asked`,
      `/admin/messages/${asked.id}`,
      `/admin/traces/${traceId}`,
      '/admin/streams',
      `/admin/streams/${encodeURIComponent(streamName)}`,
      '/admin/categories',
      '/admin/subscriber-positions',
    ];
    const actions = [`/admin/users/${user.userId}/unlock`, '/admin/parked-messages/retry'];

    const anonymous = browserSession(app);
    const plain = (await signedIn(`plain-${randomUUID().slice(0, 8)}@example.com`)).browser;
    const admin = (await signedIn(adminEmail)).browser;
    for (const url of pages) {
      const refused = await anonymous.get(url);
      expect({ url, status: refused.statusCode }).toEqual({ url, status: 302 });
      expect(refused.headers.location).toBe(`/auth/log-in?returnTo=${encodeURIComponent(url)}`);
      const forbidden = await plain.get(url);
      expect({ url, status: forbidden.statusCode }).toEqual({ url, status: 403 });
      expect(forbidden.body).toContain('Admins only');
      const allowed = await admin.get(url);
      expect({ url, status: allowed.statusCode }).toEqual({ url, status: 200 });
    }
    await anonymous.get('/auth/log-in'); // a valid CSRF token, so only the admin check can refuse
    for (const url of actions) {
      expect({ url, status: (await anonymous.post(url)).statusCode }).toEqual({ url, status: 302 });
      expect({ url, status: (await plain.post(url)).statusCode }).toEqual({ url, status: 403 });
    }
    expect(await store.read(identityCommandStreamName(user.userId))).toEqual([]);
  });

  it('shows the Admin link to admins only', async () => {
    expect((await app.inject({ url: '/auth/log-in' })).body).not.toContain('href="/admin"');
    const { browser } = await signedIn(`someone-${randomUUID().slice(0, 8)}@example.com`);
    expect((await browser.get('/auth/log-in')).body).not.toContain('href="/admin"');
    const { browser: admin } = await signedIn(adminEmail);
    expect((await admin.get('/auth/log-in')).body).toContain('href="/admin"');
  });
});

describe('users', () => {
  it('lists users with their log-ins, registration e-mail and lock, and shows one user’s activity', async () => {
    const user = await lockedUser(`${randomUUID().slice(0, 8)}-listed@example.com`);
    await caughtUp();
    const { browser } = await signedIn(adminEmail);
    const list = await browser.get(`/admin/users?search=${user.email.slice(0, 8)}`);
    expect(list.body).toContain(`data-user-id="${user.userId}"`);
    expect(list.body).toContain('Locked');
    expect(list.body).toContain('Not sent');

    const page = await browser.get(`/admin/users/${user.userId}`);
    expect(page.body).toContain(user.email);
    expect(page.body).toContain('UserLoggedIn');
    expect(page.body).toContain(user.videoId); // the viewing, with its data
    expect(page.body).toContain('AccountLocked');
    expect(page.body).toContain('Unlock the account');
    expect((await browser.get(`/admin/users/${randomUUID()}`)).statusCode).toBe(404);
  });

  it('unlocks an account by writing UnlockAccount with the request’s trace id — only with a CSRF token', async () => {
    const user = await lockedUser();
    await caughtUp();
    const { browser, userId: adminId } = await signedIn(adminEmail);
    await browser.get(`/admin/users/${user.userId}`);

    const forged = await browser.post(`/admin/users/${user.userId}/unlock`, { _csrf: 'forged' });
    expect(forged.statusCode).toBe(403);
    expect(await store.read(identityCommandStreamName(user.userId))).toEqual([]);

    const response = await browser.post(`/admin/users/${user.userId}/unlock`);
    expect(response.statusCode).toBe(303);
    const traceId = response.headers['x-trace-id'] as string;
    expect(response.headers.location).toBe(`/admin/users/${user.userId}?unlockRequested=${traceId}`);
    const commands = await store.read(identityCommandStreamName(user.userId));
    expect(commands).toMatchObject([
      { type: 'UnlockAccount', data: { userId: user.userId }, metadata: { traceId, userId: adminId } },
    ]);
    const after = await browser.get(response.headers.location as string);
    expect(after.body).toContain('Unlock requested');
    expect(after.body).toContain(`/admin/traces/${traceId}`);
  });
});

describe('parked messages', () => {
  it('are listed on the health page and can be retried', async () => {
    const category = uniqueCategory('fragile');
    const subscriberId = `test:fragile-${randomUUID().slice(0, 8)}`;
    const { id: messageId } = await written(`${category}-1`, exampleMessage({ type: 'Fragile' }));
    let broken = true;
    const fragileConsumer = () =>
      createSubscription({
        store,
        streamName: category,
        subscriberId,
        maxAttempts: 1,
        handlers: {
          Fragile: () => {
            if (broken) throw new Error('cannot handle this yet');
          },
        },
      });
    const consumer = fragileConsumer();
    await consumer.start();
    await consumer.waitUntilCaughtUp();
    await consumer.stop();
    await caughtUp();

    const { browser } = await signedIn(adminEmail);
    const health = await browser.get('/admin');
    expect(health.body).toContain(`data-parked-message="${messageId}"`);
    expect(health.body).toContain('cannot handle this yet');

    const retried = await browser.post('/admin/parked-messages/retry', { subscriberId, messageId });
    expect(retried.statusCode).toBe(303);
    expect(retried.headers.location).toBe(`/admin?retryRequested=${messageId}`);
    expect((await createParkingLot(store, subscriberId).list())[0]?.state).toBe('retry-requested');
    const requested = await browser.get(retried.headers.location as string);
    expect(requested.body).toContain('Retry requested');

    // The consumer, fixed and running again, handles it when idle.
    broken = false;
    const fixed = fragileConsumer();
    await fixed.start();
    await eventually(
      async () => ((await createParkingLot(store, subscriberId).list()).length === 0 ? true : undefined),
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    await fixed.stop();
    expect((await browser.get('/admin')).body).not.toContain(`data-parked-message="${messageId}"`);

    await browser.get('/admin');
    const unknown = await browser.post('/admin/parked-messages/retry', { subscriberId, messageId: randomUUID() });
    expect(unknown.statusCode).toBe(404);
  });
});

describe('traces', () => {
  it('show the request’s messages as a timeline, each effect after and under its cause', async () => {
    const { traceId, asked, accepted, done, noted } = await tracedRequest();
    await caughtUp();
    const { browser } = await signedIn(adminEmail);
    const page = await browser.get(`/admin/traces/${traceId}`);
    expect(page.statusCode).toBe(200);
    const at = (message: StoredMessage) => page.body.indexOf(`id="m-${message.globalPosition}"`);
    expect(at(asked)).toBeGreaterThan(-1);
    expect(at(asked)).toBeLessThan(at(accepted));
    expect(at(accepted)).toBeLessThan(at(done));
    expect(at(done)).toBeLessThan(at(noted));
    const entry = (message: StoredMessage) => page.body.slice(at(message), page.body.indexOf('</div>', at(message)));
    expect(entry(asked)).not.toContain('caused by');
    expect(entry(accepted)).toContain(
      `caused by <a href="#m-${asked.globalPosition}">Asked #${asked.globalPosition}</a>`,
    );
    expect(entry(done)).toContain(`href="#m-${accepted.globalPosition}"`);
    expect(entry(noted)).toContain(`href="#m-${asked.globalPosition}"`);
    // Nested: the effect's list sits inside its cause's item.
    const askedItem = page.body.slice(at(asked), at(noted));
    expect(askedItem).toContain(`id="m-${done.globalPosition}"`);

    const detail = await browser.get(`/admin/messages/${accepted.id}`);
    expect(detail.body).toContain(`href="/admin/messages/${asked.id}"`); // caused by
    expect(detail.body).toContain(`href="/admin/messages/${done.id}"`); // what it caused
    expect((await browser.get(`/admin/traces/${randomUUID()}`)).statusCode).toBe(404);
  });
});

describe('messages, streams and categories', () => {
  it('escape what messages hold', async () => {
    const category = uniqueCategory('hostile');
    const hostile = await written(
      `${category}-1`,
      exampleMessage({ type: 'Said', data: { note: SCRIPT }, metadata: { traceId: SCRIPT } }),
    );
    const user = await lockedUser(`${SCRIPT}@example.com`);
    await caughtUp();
    const { browser } = await signedIn(adminEmail);
    for (const url of [
      '/admin/messages',
      `/admin/messages?category=${category}`,
      `/admin/messages?type=Said&category=${category}`,
      `/admin/messages/${hostile.id}`,
      `/admin/streams/${encodeURIComponent(hostile.streamName)}`,
      `/admin/traces/${encodeURIComponent(SCRIPT)}`,
      `/admin/users?search=${encodeURIComponent('<script>')}`,
      `/admin/users/${user.userId}`,
    ]) {
      const page = await browser.get(url);
      expect({ url, status: page.statusCode }).toEqual({ url, status: 200 });
      expect(page.body).not.toContain(SCRIPT);
      expect(page.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
    expect((await browser.get(`/admin/messages/${hostile.id}`)).body).toContain(
      '&quot;note&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;',
    );
  });

  it('pages through messages newest first, by category and by type', async () => {
    const category = uniqueCategory('paged');
    const messages: StoredMessage[] = [];
    for (let index = 0; index < 55; index++)
      messages.push(await written(`${category}-${index % 3}`, exampleMessage({ type: index % 2 ? 'Odd' : 'Even' })));
    await caughtUp();
    const { browser } = await signedIn(adminEmail);
    const positionsOn = (body: string) =>
      [...body.matchAll(/<td class="number"><a href="\/admin\/messages\/[^"]+">(\d+)<\/a>/g)].map((match) =>
        Number(match[1]),
      );
    const newestFirst = messages.map((message) => message.globalPosition).reverse();

    const first = await browser.get(`/admin/messages?category=${category}`);
    expect(positionsOn(first.body)).toEqual(newestFirst.slice(0, 50));
    const older = /href="([^"]+)" rel="next"/.exec(first.body)![1]!.replaceAll('&amp;', '&');
    expect(older).toBe(`/admin/messages?category=${category}&before=${newestFirst[49]}`);
    const second = await browser.get(older);
    expect(positionsOn(second.body)).toEqual(newestFirst.slice(50));
    const newer = /href="([^"]+)" rel="prev"/.exec(second.body)![1]!.replaceAll('&amp;', '&');
    expect(positionsOn((await browser.get(newer)).body)).toEqual(newestFirst.slice(0, 50));

    const odd = newestFirst.filter((position) => messages.find((m) => m.globalPosition === position)!.type === 'Odd');
    expect(positionsOn((await browser.get(`/admin/messages?category=${category}&type=Odd`)).body)).toEqual(odd);

    const streams = await browser.get(`/admin/streams?category=${category}`);
    expect(streams.body).toContain(`${category}-0`);
    expect(streams.body).toContain('>19<'); // 55 messages over 3 streams: 19, 18, 18
    const categories = await browser.get('/admin/categories');
    expect(categories.body).toContain(`/admin/messages?category=${category}&amp;type=Odd`);

    const stream = await browser.get(`/admin/streams/${encodeURIComponent(`${category}-1`)}`);
    expect(stream.body).toContain('18 messages');
    expect((await browser.get('/admin/messages?before=not-a-number')).statusCode).toBe(400);
    expect((await browser.get(`/admin/streams/${encodeURIComponent('noSuchCategory-1')}`)).statusCode).toBe(404);
  });

  it('pages through streams most recently written first, each once, with the counts and last types', async () => {
    const category = uniqueCategory('streams');
    const long = `${category}-long`;
    const LONG = 150; // more messages than a page scans
    for (let index = 0; index < 60; index++) {
      await written(`${category}-${index}`, exampleMessage({ type: index % 2 ? 'Odd' : 'Even' }));
      if (index === 30)
        await store.writeBatch(
          long,
          Array.from({ length: LONG }, () => exampleMessage({ type: 'Stepped' })),
        );
    }
    await written(`${category}-7`, exampleMessage({ type: 'Again' }));
    const expected = [
      `${category}-7`,
      ...Array.from({ length: 29 }, (_, at) => `${category}-${59 - at}`),
      long,
      ...Array.from({ length: 31 }, (_, at) => `${category}-${30 - at}`).filter((name) => name !== `${category}-7`),
    ];
    const { browser } = await signedIn(adminEmail);
    const rowsOn = (body: string) =>
      [
        ...body.matchAll(
          /<td><a href="\/admin\/streams\/([^"]+)">[^<]*<\/a><\/td>\s*<td class="number">([\d,]+)<\/td>\s*<td>([^<]*)<\/td>/g,
        ),
      ].map((match) => ({ streamName: decodeURIComponent(match[1]!), count: match[2]!, lastType: match[3]! }));
    const listed: { streamName: string; count: string; lastType: string }[] = [];
    const notices: string[] = [];
    let url: string | undefined = `/admin/streams?category=${category}`;
    for (let pages = 0; url; pages++) {
      expect(pages).toBeLessThan(10);
      const page = await browser.get(url);
      expect(page.statusCode).toBe(200);
      listed.push(...rowsOn(page.body));
      const notice = /<p class="muted" data-scanned>([\s\S]*?)<\/p>/.exec(page.body)?.[1];
      if (notice) notices.push(notice.replace(/\s+/g, ' ').trim());
      url = /href="([^"]+)" rel="next"/.exec(page.body)?.[1]?.replaceAll('&amp;', '&');
    }
    expect(listed.map((row) => row.streamName)).toEqual(expected);
    expect(listed.find((row) => row.streamName === long)).toEqual({
      streamName: long,
      count: '150',
      lastType: 'Stepped',
    });
    expect(listed.find((row) => row.streamName === `${category}-7`)).toMatchObject({ count: '2', lastType: 'Again' });
    expect(listed.find((row) => row.streamName === `${category}-8`)).toMatchObject({ count: '1', lastType: 'Even' });
    // The long stream's messages fill a page's scan: that page is short, and says which positions it scanned.
    expect(notices.length).toBeGreaterThan(0);
    expect(notices[0]).toMatch(
      /^No more streams last written in global positions [\d,]+–[\d,]+ \(a page scans 100 messages at most\)/,
    );
  });

  it('shows every consumer’s position and lag against what it reads', async () => {
    await caughtUp();
    const { browser } = await signedIn(adminEmail);
    const page = await browser.get('/admin/subscriber-positions');
    expect(page.body).toContain(adminUsers.ADMIN_USERS_SUBSCRIBER_ID);
    expect(page.body).toContain('$all');
  });

  it('shows aggregators’ positions from View Data, components’ from their Read records, not an old Read of an aggregator', async () => {
    // Left by an older version, when aggregators kept their positions in the message store.
    await store.write('subscriberPosition-aggregators:admin-users', {
      id: randomUUID(),
      type: 'Read',
      data: { position: 3 },
    });
    await store.write('subscriberPosition-components:identity', {
      id: randomUUID(),
      type: 'Read',
      data: { position: 7 },
    });
    // Signed in first: logging in writes a message the aggregator then applies.
    const { browser } = await signedIn(adminEmail);
    await caughtUp();
    const [recorded] = await test.db.query<{ position: string }>(
      'SELECT position FROM consumer_positions WHERE subscriber_id = $1',
      [adminUsers.ADMIN_USERS_SUBSCRIBER_ID],
    );
    const page = await browser.get('/admin/subscriber-positions');
    const rowsOf = (subscriberId: string) =>
      page.body
        .split('<tr>')
        .filter((row) => row.includes(`${subscriberId}</a>`) || row.includes(`${subscriberId} <span`));
    const [aggregator, ...more] = rowsOf(adminUsers.ADMIN_USERS_SUBSCRIBER_ID);
    expect(more).toEqual([]);
    expect(aggregator).toContain('View Data');
    expect(aggregator).toContain(`>${Number(recorded?.position).toLocaleString('en')}<`);
    // The book's identity (or this system's before its own ids): shown as the book's, carried on, with no lag.
    const [component] = rowsOf('components:identity');
    expect(component).toContain(
      `href="/admin/streams/${encodeURIComponent('subscriberPosition-components:identity')}"`,
    );
    expect(component).toContain('carried on by vt:identity<');
    expect(component).toMatch(/data-lag>\s*—\s*</);
    const health = await browser.get('/admin');
    expect(health.body.split('Consumers behind')[1]?.split('</section>')[0]).not.toContain('components:identity');
  });
});

describe('the map of what each consumer reads', () => {
  it('knows every consumer of the system', async () => {
    const source = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const subscriberIds: string[] = [];
    for (const folder of ['components', 'aggregators'])
      for (const piece of await readdir(path.join(source, folder))) {
        const code = await readFile(path.join(source, folder, piece, 'index.ts'), 'utf8').catch(() => '');
        for (const match of code.matchAll(/subscriberId: '([^']+)'/g)) subscriberIds.push(match[1]!);
        for (const match of code.matchAll(/_SUBSCRIBER_ID = '([^']+)'/g)) subscriberIds.push(match[1]!);
      }
    expect(subscriberIds.length).toBeGreaterThan(10);
    expect(subscriberIds.filter((subscriberId) => !(subscriberId in CONSUMER_READS))).toEqual([]);
  });

  it('knows every id a consumer carried on from, and uses none of them itself', async () => {
    const source = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../components');
    const predecessors: string[] = [];
    for (const piece of await readdir(source)) {
      const code = await readFile(path.join(source, piece, 'index.ts'), 'utf8').catch(() => '');
      for (const match of code.matchAll(/continuesFrom: (\[[^\]]*\]|'[^']+')/g))
        for (const id of match[1]!.matchAll(/'([^']+)'/g)) predecessors.push(id[1]!);
    }
    expect(predecessors).toContain('components:identity:command');
    expect(predecessors.filter((id) => !(id in CARRIED_ON_BY))).toEqual([]);
    expect(Object.keys(CARRIED_ON_BY).filter((id) => id in CONSUMER_READS)).toEqual([]);
  });
});

describe('the admin portal, its requests typed by zod schemas', () => {
  it('answers an address it cannot show with its own pages, as before: 400 for a query, 404 for what is not there', async () => {
    const { browser } = await signedIn(adminEmail);
    for (const url of [
      '/admin/users?afterId=not-a-uuid',
      '/admin/users?search=a&search=b',
      `/admin/users/${randomUUID()}?before=-1`,
      '/admin/messages?after=1.5',
      '/admin/streams?before=x',
      `/admin/streams/${encodeURIComponent('someCategory-1')}?before=x`,
    ]) {
      const page = await browser.get(url);
      expect(page.statusCode, url).toBe(400);
      expect(page.body, url).toContain('The address asks for a page that cannot be shown.');
    }
    for (const url of ['/admin/users/not-a-uuid', '/admin/messages/not-a-uuid']) {
      const page = await browser.get(url);
      expect(page.statusCode, url).toBe(404);
      expect(page.body, url).toContain('Back to the admin portal');
    }
    // A notice the link cannot name is no notice, and no refusal.
    const health = await browser.get(`/admin?retryRequested=${randomUUID()}&retryRequested=${randomUUID()}`);
    expect(health.statusCode).toBe(200);
    expect(health.body).not.toContain('Retry requested');
    expect((await browser.get(`/admin?retryRequested=${randomUUID()}`)).body).toContain('Retry requested');
  });

  it('answers a retry or an unlock of nothing with a 404, and still checks their CSRF token', async () => {
    const { browser } = await signedIn(adminEmail);
    await browser.get('/admin');
    const nothing = await browser.post('/admin/parked-messages/retry', { subscriberId: 'nobody' });
    expect(nothing.statusCode).toBe(404);
    expect(nothing.body).toContain('There is no such parked message.');
    expect((await browser.post('/admin/users/not-a-uuid/unlock')).statusCode).toBe(404);
    const forged = await app.inject({
      method: 'POST',
      url: '/admin/parked-messages/retry',
      payload: { subscriberId: 'nobody', messageId: randomUUID() },
      headers: { cookie: browser.cookieHeader() },
    });
    expect(forged.statusCode).toBe(403);
  });
});
