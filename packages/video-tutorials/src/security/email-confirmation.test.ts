import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityStreamName } from '../contracts/identity.js';
import { startRunningSystem, type RunningSystem } from './running-system.js';

/**
 * The admin role needs a confirmed address: registering an address listed in ADMIN_EMAILS gives nothing until
 * its owner follows the link of the registration e-mail (a one-time token with an expiry).
 */
const PASSWORD = 'my secret words';
const adminEmail = `admin-${randomUUID().slice(0, 8)}@example.com`;
let running: RunningSystem;

beforeAll(async () => {
  running = await startRunningSystem(
    { ADMIN_EMAILS: adminEmail, APP_URL: 'https://videos.example.com' },
    { web: true, workers: ['identity', 'send-email', 'user-credentials-aggregator'] },
  );
}, 180_000);
afterAll(() => running?.stop());

const linkIn = (email: string) => {
  const found = /https:\/\/videos\.example\.com(\/auth\/confirm-email\?userId=[0-9a-f-]{36}&token=[A-Za-z0-9_-]+)/.exec(
    email,
  );
  if (!found) throw new Error('no confirmation link in the e-mail');
  return found[1]!;
};

type Browser = Awaited<ReturnType<RunningSystem['logIn']>>['browser'];

/** Opens the link and presses its button, as its owner does. */
async function confirmWith(browser: Browser, link: string) {
  const page = await browser.get(link);
  expect(page.statusCode).toBe(200);
  const userId = /name="userId" value="([^"]+)"/.exec(page.body)![1]!;
  const token = /name="token" value="([^"]+)"/.exec(page.body)![1]!;
  return browser.post('/auth/confirm-email', { userId, token });
}

describe('e-mail confirmation', () => {
  it('an unconfirmed address listed in ADMIN_EMAILS gets no admin portal, until it is confirmed', async () => {
    const userId = await running.register(adminEmail, PASSWORD);
    const { browser, response } = await running.logIn(adminEmail, PASSWORD);
    expect(response.statusCode).toBe(303);

    const refused = await browser.get('/admin');
    expect(refused.statusCode).toBe(403);
    // The user is told to confirm, and can have the link sent again.
    const home = await browser.get('/');
    expect(home.body).toContain('data-testid="unconfirmed-notice"');
    expect(home.body).toContain('action="/auth/confirmation-email"');

    // A made-up token confirms nothing.
    await browser.get(`/auth/confirm-email?userId=${userId}&token=${'x'.repeat(43)}`);
    expect((await browser.post('/auth/confirm-email', { userId, token: 'x'.repeat(43) })).statusCode).toBe(200);
    await running.eventually(async () =>
      (await running.system.store.read(identityStreamName(userId))).some(
        (event) => event.type === 'EmailConfirmationRejected',
      )
        ? true
        : undefined,
    );
    await running.caughtUp();
    expect((await browser.get('/admin')).statusCode).toBe(403);

    // The registration e-mail carries the link; only its hash is in the identity stream.
    const [email] = await running.eventually(async () => {
      const emails = await running.emailsTo(adminEmail);
      return emails.length > 0 ? emails : undefined;
    });
    const link = linkIn(email!);
    const token = new URL(link, 'https://videos.example.com').searchParams.get('token')!;
    const identityEvents = await running.system.store.read(identityStreamName(userId));
    expect(JSON.stringify(identityEvents)).not.toContain(token);

    expect((await confirmWith(browser, link)).statusCode).toBe(200);
    await running.eventually(async () =>
      (await running.system.store.read(identityStreamName(userId))).some((event) => event.type === 'EmailConfirmed')
        ? true
        : undefined,
    );
    await running.caughtUp();
    expect((await browser.get('/admin')).statusCode).toBe(200);
    expect((await browser.get('/')).body).not.toContain('data-testid="unconfirmed-notice"');

    // One-time: the link used again confirms nothing more (and changes nothing).
    await confirmWith(browser, link);
    await running.caughtUp();
    const types = (await running.system.store.read(identityStreamName(userId))).map((event) => event.type);
    expect(types.filter((type) => type === 'EmailConfirmed')).toHaveLength(1);
  });

  it('"send it again" mails a new link that confirms', async () => {
    const address = `again-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(address, PASSWORD);
    const { browser } = await running.logIn(address, PASSWORD);
    await browser.get('/');
    expect((await browser.post('/auth/confirmation-email')).statusCode).toBe(200);
    const emails = await running.eventually(async () => {
      const sent = await running.emailsTo(address);
      return sent.length >= 2 ? sent : undefined;
    });
    const links = emails.map(linkIn);
    expect(new Set(links).size).toBe(2);
    const again = emails.find((email) => email.includes('Subject: Confirm your address'))!;
    expect((await confirmWith(browser, linkIn(again))).statusCode).toBe(200);
    await running.eventually(async () =>
      (await running.system.store.read(identityStreamName(userId))).some((event) => event.type === 'EmailConfirmed')
        ? true
        : undefined,
    );
  });
});
