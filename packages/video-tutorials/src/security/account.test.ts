import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSmtpServer, type TestSmtpServer } from '../components/send-email/controls.js';
import { identityEmailStreamName, identityStreamName } from '../contracts/identity.js';
import { sessionStreamName } from '../contracts/authentication.js';
import { browserSession } from '../test-support/browser-session.js';
import { errorSummaryOf } from '../test-support/page-checks.js';
import { startRunningSystem, type RunningSystem } from './running-system.js';

/**
 * The account page: the sessions of an account and "log out everywhere", deleting the account, and the welcome
 * e-mail (over a real SMTP server on loopback). Driven over HTTP like a browser, on the running system.
 */
const PASSWORD = 'my secret words';
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
const workers = [
  'identity',
  'send-email',
  'user-credentials-aggregator',
  'account-sessions-aggregator',
  'registration-monitor',
] as const;
const signedInAs = (body: string, email: string) => body.includes(`Signed in as <strong>${email}</strong>`);
type Browser = ReturnType<typeof browserSession>;

let running: RunningSystem;
let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startTestSmtpServer();
  running = await startRunningSystem(
    { APP_URL: 'https://videos.example.com', SMTP_URL: smtp.url },
    { web: true, workers: [...workers] },
  );
}, 180_000);
afterAll(async () => {
  await running?.stop();
  await smtp?.close();
});

const newEmail = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}@example.com`;
let addresses = 0;
/** A browser of its own client address (the log-in rate limit is per address). */
const browser = (userAgent?: string) =>
  browserSession(running.system.web!, {
    remoteAddress: `198.51.100.${++addresses % 250}`,
    ...(userAgent ? { userAgent } : {}),
  });

async function register(email: string, displayName = '') {
  const page = browser();
  const form = await page.get('/register');
  const userId = /name="userId" value="([^"]+)"/.exec(form.body)![1]!;
  const response = await page.post('/register', { userId, email, password: PASSWORD, displayName });
  expect(response.statusCode).toBe(303);
  await running.eventually(async () =>
    (await running.system.viewData.query('SELECT 1 FROM user_credentials WHERE id = $1', [userId])).length > 0
      ? true
      : undefined,
  );
  return userId;
}
async function logIn(email: string, userAgent?: string, password = PASSWORD): Promise<[Browser, number]> {
  const page = browser(userAgent);
  await page.get('/auth/log-in');
  const response = await page.post('/auth/log-in', { email, password });
  return [page, response.statusCode];
}
/** The session ids listed on the account page, once the aggregator has them all. */
const sessionIdsOn = (body: string) =>
  [...body.matchAll(/name="sessionId" value="([0-9a-f-]{36})"/g)].map((m) => m[1]!);

describe('the account page', () => {
  it('shows the address, unconfirmed with "Send it again", and the sessions with their devices', async () => {
    const email = newEmail('page');
    await register(email);
    const [firefox] = await logIn(email, FIREFOX);
    const [iphone] = await logIn(email, IPHONE);
    await running.caughtUp();
    const page = await firefox.get('/account');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(`<strong>${email}</strong>`);
    expect(page.body).toContain('data-testid="address-unconfirmed"');
    expect(page.body).toMatch(/<form method="post" action="\/auth\/confirmation-email"[\s\S]*?Send it again/);
    expect(page.body).toContain('Firefox on Linux');
    expect(page.body).toContain('Safari on iOS');
    // This browser is marked and has no button of its own; the other one has.
    expect(page.body.match(/data-testid="this-browser"/g)).toHaveLength(1);
    expect(sessionIdsOn(page.body)).toHaveLength(1);
    // The User-Agent itself is never kept.
    const [sessionOfIphone] = sessionIdsOn(page.body);
    expect(JSON.stringify(await running.system.store.read(sessionStreamName(sessionOfIphone!)))).not.toContain(
      'Mobile/15E148',
    );
    expect(signedInAs((await iphone.get('/')).body, email)).toBe(true);
  });

  it('every form refuses a post without the CSRF token, and anonymous visitors go to log in', async () => {
    const email = newEmail('csrf');
    await register(email);
    const [page] = await logIn(email);
    await page.get('/account');
    for (const action of [
      '/account/log-out-everywhere',
      '/account/delete',
      '/account/sessions/log-out',
      '/account/password',
    ]) {
      const response = await running.system.web!.inject({
        method: 'POST',
        url: action,
        headers: { cookie: page.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({
          currentPassword: PASSWORD,
          understood: 'yes',
          sessionId: randomUUID(),
        }).toString(),
      });
      expect({ action, status: response.statusCode }).toEqual({ action, status: 403 });
    }
    expect(signedInAs((await page.get('/')).body, email)).toBe(true);
    const anonymous = await browser().get('/account');
    expect(anonymous.statusCode).toBe(302);
    expect(anonymous.headers.location).toBe('/auth/log-in?returnTo=%2Faccount');
  });

  it('logs out one other session; a session id of someone else’s, forged into the form, changes nothing', async () => {
    const email = newEmail('one');
    const stranger = newEmail('stranger');
    await register(email);
    await register(stranger);
    const [mine] = await logIn(email, FIREFOX);
    const [other] = await logIn(email, IPHONE);
    const [strangers] = await logIn(stranger, FIREFOX);
    await running.caughtUp();
    // The stranger's page lists only the stranger's own browser: no session of anyone else's to log out.
    expect(sessionIdsOn((await strangers.get('/account')).body)).toEqual([]);
    const strangersId = (
      await running.system.viewData.query<{ session_id: string }>(
        'SELECT session_id FROM account_sessions WHERE user_id = (SELECT id FROM user_credentials WHERE email = $1)',
        [stranger],
      )
    )[0]!.session_id;

    await mine.get('/account');
    for (const sessionId of [
      strangersId,
      strangersId.toUpperCase(),
      randomUUID(),
      'not-an-id',
      `${strangersId}\u0000`,
    ]) {
      const forged = await mine.post('/account/sessions/log-out', { sessionId });
      // 404 for an id that names no session of this user's, 400 for text PostgreSQL cannot store.
      expect({ sessionId, refused: [400, 404].includes(forged.statusCode) }).toEqual({ sessionId, refused: true });
    }
    expect(signedInAs((await strangers.get('/')).body, stranger)).toBe(true);

    const [otherId] = sessionIdsOn((await mine.get('/account')).body);
    const ended = await mine.post('/account/sessions/log-out', { sessionId: otherId! });
    expect(ended.statusCode).toBe(303);
    expect(ended.headers.location).toBe('/account?notice=session-ended#sessions');
    expect(signedInAs((await other.get('/')).body, email)).toBe(false);
    expect(signedInAs((await mine.get('/')).body, email)).toBe(true);
  });

  it('"log out everywhere" makes every browser’s next request signed out, this one’s too', async () => {
    const email = newEmail('everywhere');
    const userId = await register(email);
    const [here] = await logIn(email, FIREFOX);
    const [there] = await logIn(email, IPHONE);
    await here.get('/account');
    const response = await here.post('/account/log-out-everywhere');
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/auth/log-in?notice=logged-out-everywhere');
    expect(signedInAs((await there.get('/')).body, email)).toBe(false);
    expect(signedInAs((await here.get('/')).body, email)).toBe(false);
    expect((await here.get('/auth/log-in?notice=logged-out-everywhere')).body).toContain(
      'You were logged out everywhere',
    );
    expect((await running.system.store.read(identityStreamName(userId))).map((e) => e.type)).toContain(
      'LoggedOutEverywhere',
    );
    // Logging in again works, with a session that holds.
    const [again, status] = await logIn(email);
    expect(status).toBe(303);
    expect(signedInAs((await again.get('/')).body, email)).toBe(true);
  });
});

describe('deleting the account', () => {
  it('asks for the password and a confirmation; then nobody logs in with it, and the address can register again', async () => {
    const email = newEmail('leaving');
    const userId = await register(email);
    const [here] = await logIn(email, FIREFOX);
    const [there] = await logIn(email, IPHONE);
    await here.get('/account');

    const unconfirmed = await here.post('/account/delete', { currentPassword: PASSWORD });
    expect(unconfirmed.statusCode).toBe(400);
    expect(errorSummaryOf(unconfirmed.body)?.errors).toEqual([
      { message: 'Tick the box to say you understand that this cannot be undone.', href: '#delete-understood' },
    ]);
    const wrong = await here.post('/account/delete', { currentPassword: 'not my password', understood: 'yes' });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.body).not.toContain('not my password');
    expect(signedInAs((await there.get('/')).body, email)).toBe(true);

    const deleted = await here.post('/account/delete', { currentPassword: PASSWORD, understood: 'yes' });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.body).toContain('data-testid="account-deleted"');
    expect(deleted.body).toContain('nobody can log in with your address and password any more');
    expect(signedInAs((await there.get('/')).body, email)).toBe(false);
    expect(signedInAs((await here.get('/')).body, email)).toBe(false);
    expect((await logIn(email))[1]).toBe(401);
    expect((await running.system.store.read(identityStreamName(userId))).map((e) => e.type)).toContain(
      'AccountDeleted',
    );

    // The address is released, and registering it again makes a new account that logs in.
    await running.eventually(async () =>
      (await running.system.store.read(identityEmailStreamName(email))).some((e) => e.type === 'EmailReleased')
        ? true
        : undefined,
    );
    const again = await register(email.toUpperCase());
    expect(again).not.toBe(userId);
    const [back, status] = await logIn(email);
    expect(status).toBe(303);
    expect(signedInAs((await back.get('/')).body, email.toUpperCase())).toBe(true);
  });
});

describe('the registration e-mail, over SMTP', () => {
  /** The text part of an e-mail as received (quoted-printable decoded). */
  const decoded = (raw: string) =>
    Buffer.from(
      raw
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/g, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');

  it('welcomes by the name given at registration, links to the site and carries the confirmation link', async () => {
    const email = newEmail('welcome');
    await register(email, '  Ada <Lovelace> ');
    const received = await running.eventually(async () =>
      smtp.received.find((mail) => mail.envelopeTo.includes(email)),
    );
    const body = decoded(received.raw);
    expect(received.header('subject')).toBe('Welcome to Video Tutorials');
    expect(body).toContain('Welcome, Ada <Lovelace>!');
    expect(body).toContain('Welcome, Ada &lt;Lovelace&gt;!');
    expect(body).toContain('https://videos.example.com/');
    expect(body).toMatch(
      /Security:[\s\S]*https:\/\/videos\.example\.com\/auth\/confirm-email\?userId=[0-9a-f-]{36}&token=/,
    );
  });

  it('greets neutrally without a name; a name with control characters is refused with a sentence', async () => {
    const email = newEmail('neutral');
    await register(email);
    const received = await running.eventually(async () =>
      smtp.received.find((mail) => mail.envelopeTo.includes(email)),
    );
    expect(decoded(received.raw)).toMatch(/^Welcome!$/m);

    const page = browser();
    const form = await page.get('/register');
    const userId = /name="userId" value="([^"]+)"/.exec(form.body)![1]!;
    const refused = await page.post('/register', {
      userId,
      email: newEmail('tab'),
      password: PASSWORD,
      displayName: 'Ada\tL',
    });
    expect(refused.statusCode).toBe(400);
    expect(errorSummaryOf(refused.body)?.errors).toEqual([
      { message: 'Your name cannot have line breaks, tabs or other control characters.', href: '#register-name' },
    ]);
    const long = await page.post('/register', {
      userId,
      email: newEmail('long'),
      password: PASSWORD,
      displayName: 'a'.repeat(81),
    });
    expect(long.statusCode).toBe(400);
    expect(long.body).toContain('Use at most 80 characters for your name.');
  });
});
