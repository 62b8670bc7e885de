import { randomUUID } from 'node:crypto';
import type { MessageStore } from 'message-db-toolkit';
import { eventually, type TestDatabase } from 'message-db-toolkit/controls';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as registrationMonitor from '../aggregators/registration-monitor/index.js';
import { createRegisterUsersApp } from '../app/register-users/index.js';
import * as identity from '../components/identity/index.js';
import { identityEmailStreamName, identityStreamName } from '../contracts/identity.js';
import type { Piece } from '../piece.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { browserSession } from '../test-support/browser-session.js';
import { buildWebServer } from '../web/server.js';

/**
 * One e-mail address, one identity: eight registrations of one address sent at once, handled by two
 * running instances of the identity component on one message store, give one `Registered`; every other
 * one is rejected, and its user is told why.
 */
let test: TestDatabase & { store: MessageStore };
let app: FastifyInstance;
let pieces: Piece[];

beforeAll(async () => {
  test = await createSystemTestDatabase();
  const { store, db: viewData } = test;
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: 'a-test-cookie-secret-of-at-least-32-chars',
    secureCookies: false,
    applications: [createRegisterUsersApp({ store, viewData })],
  });
  // Two instances of identity, each handling every command (no consumer group): the worst case.
  pieces = [
    identity.build({ messageStore: store }),
    identity.build({ messageStore: store }),
    registrationMonitor.build({ store, viewData }),
  ];
  for (const piece of pieces) await piece.start();
}, 180_000);
afterAll(async () => {
  for (const piece of pieces) await piece.stop();
  await app.close();
  await test.drop();
});

const caughtUp = () =>
  Promise.all(pieces.flatMap((piece) => piece.subscriptions).map((subscription) => subscription.waitUntilCaughtUp()));

describe('one identity per e-mail address', () => {
  it('8 simultaneous registrations of one address by two identity instances: one Registered, 7 rejected', async () => {
    const email = `taken-${randomUUID().slice(0, 8)}@example.com`;
    const browsers = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const browser = browserSession(app);
        const form = await browser.get('/register');
        return { browser, userId: /name="userId" value="([^"]+)"/.exec(form.body)![1]! };
      }),
    );
    // The same address, differently cased: still one address.
    const responses = await Promise.all(
      browsers.map(({ browser, userId }, index) =>
        browser.post('/register', {
          userId,
          email: index % 2 ? email.toUpperCase() : email,
          password: 'a good password',
        }),
      ),
    );
    for (const response of responses) expect(response.statusCode).toBe(303);

    const answers = await eventually(
      async () => {
        await caughtUp();
        const streams = await Promise.all(browsers.map(({ userId }) => test.store.read(identityStreamName(userId))));
        return streams.every((events) => events.length > 0) ? streams : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await caughtUp();
    const firsts = answers.map((events) => events[0]!);
    const registered = firsts.filter((event) => event.type === 'Registered');
    const rejected = firsts.filter((event) => event.type === 'RegistrationRejected');
    expect(registered).toHaveLength(1);
    expect(rejected).toHaveLength(7);
    for (const rejection of rejected) expect(rejection.data.reason).toBe('email already registered');
    // No stream got a second answer, and the address's stream names its one holder.
    const all = (await Promise.all(browsers.map(({ userId }) => test.store.read(identityStreamName(userId))))).flat();
    expect(all.filter((event) => event.type === 'Registered' || event.type === 'RegistrationRejected')).toHaveLength(8);
    const reservation = await test.store.read(identityEmailStreamName(email));
    expect(reservation.map((event) => [event.type, event.data.userId])).toEqual([
      ['EmailReserved', registered[0]!.data.userId],
    ]);

    // Each user sees how it went on the registration status page.
    for (const { browser, userId } of browsers) {
      const page = await browser.get(`/register/registration-complete?userId=${userId}`);
      if (userId === registered[0]!.data.userId) {
        expect(page.body).toContain('You are registered');
      } else {
        expect(page.body).toContain('data-testid="registration-rejected"');
        expect(page.body).toContain('That e-mail address is already registered');
      }
    }
  });
});
