import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityStreamName } from '../contracts/identity.js';
import { browserSession } from '../test-support/browser-session.js';
import { errorSummaryOf } from '../test-support/page-checks.js';
import { startRunningSystem, type RunningSystem } from './running-system.js';

/**
 * Forgotten and changed passwords: a one-time link e-mailed to the address, a new password, and every session
 * that was open before is over at its very next request.
 */
const PASSWORD = 'my secret words';
const NEW_PASSWORD = 'quite another phrase';
const workers = ['identity', 'send-email', 'user-credentials-aggregator'] as const;
const signedInAs = (body: string, email: string) => body.includes(`Signed in as <strong>${email}</strong>`);

type Browser = ReturnType<typeof browserSession>;

const resetLinkIn = (email: string) => {
  const found =
    /https:\/\/videos\.example\.com(\/auth\/reset-password\?userId=[0-9a-f-]{36}&token=[A-Za-z0-9_-]+)/.exec(email);
  return found?.[1];
};

/** Asks for a reset link for `email` from `browser`, as its owner does from the log-in page. */
async function forgot(browser: Browser, email: string) {
  const logIn = await browser.get('/auth/log-in');
  expect(logIn.body).toContain('href="/auth/forgot-password"');
  await browser.get('/auth/forgot-password');
  return browser.post('/auth/forgot-password', { email });
}

/** Opens the link and sends the form with `password` twice. */
async function resetWith(browser: Browser, link: string, password: string, repeated = password) {
  const page = await browser.get(link);
  expect(page.statusCode).toBe(200);
  return browser.post('/auth/reset-password', { password, passwordRepeat: repeated });
}

describe('password reset', () => {
  let running: RunningSystem;
  beforeAll(async () => {
    running = await startRunningSystem({ APP_URL: 'https://videos.example.com' }, { web: true, workers: [...workers] });
  }, 180_000);
  afterAll(() => running?.stop());

  const identityTypes = async (userId: string) =>
    (await running.system.store.read(identityStreamName(userId))).map((event) => event.type);
  const resetLinks = async (email: string) =>
    (await running.emailsTo(email)).map(resetLinkIn).filter((link) => link !== undefined);

  it('a link by e-mail sets a new password once, and ends every earlier session at its next request', async () => {
    const email = `forgetful-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    // A second browser, signed in before the reset.
    const { browser: other } = await running.logIn(email, PASSWORD, '198.51.100.20');
    expect(signedInAs((await other.get('/')).body, email)).toBe(true);

    const browser = browserSession(running.system.web!, { remoteAddress: '198.51.100.21' });
    const asked = await forgot(browser, email);
    expect(asked.statusCode).toBe(200);
    expect(asked.body).toContain('Check your e-mail');

    const [link] = await running.eventually(async () => {
      const links = await resetLinks(email);
      return links.length > 0 ? links : undefined;
    });
    // Only the token's hash is kept.
    const token = new URL(link!, 'https://videos.example.com').searchParams.get('token')!;
    expect(JSON.stringify(await running.system.store.read(identityStreamName(userId)))).not.toContain(token);

    // A link checker fetching the link changes nothing.
    const before = await identityTypes(userId);
    const opened = await browser.get(link!);
    expect(opened.statusCode).toBe(200);
    expect(opened.headers['cache-control']).toBe('no-store');
    expect(opened.headers['referrer-policy']).toBe('no-referrer');
    await running.caughtUp();
    expect(await identityTypes(userId)).toEqual(before);

    // Mistakes are told as sentences, in an error summary linking to the field; a password never comes back.
    const mismatch = await resetWith(browser, link!, NEW_PASSWORD, 'something else');
    expect(mismatch.statusCode).toBe(400);
    expect(errorSummaryOf(mismatch.body)?.errors).toEqual([
      {
        message: 'The two new passwords are not the same. Type the same password twice.',
        href: '#reset-password-repeat',
      },
    ]);
    expect(mismatch.body).not.toContain(NEW_PASSWORD);
    expect(mismatch.body).not.toContain('something else');
    const short = await resetWith(browser, link!, 'short');
    expect(short.statusCode).toBe(400);
    expect(errorSummaryOf(short.body)?.errors).toEqual([
      { message: 'Use at least 8 characters for your new password.', href: '#reset-password' },
    ]);
    expect(short.body).not.toContain('value="short"');

    const reset = await resetWith(browser, link!, NEW_PASSWORD);
    expect(reset.statusCode).toBe(303);
    expect(reset.headers.location).toBe('/auth/log-in?notice=password-changed');
    // The very next request of the other browser: no waiting for anything.
    expect(signedInAs((await other.get('/')).body, email)).toBe(false);
    expect((await browser.get('/auth/log-in?notice=password-changed')).body).toContain('signed out everywhere');

    expect((await running.logIn(email, PASSWORD, '198.51.100.22')).response.statusCode).toBe(401);
    const again = await running.logIn(email, NEW_PASSWORD, '198.51.100.23');
    expect(again.response.statusCode).toBe(303);
    expect(signedInAs((await again.browser.get('/')).body, email)).toBe(true);

    // One-time: the link a second time is refused, and the password stays.
    const reused = await resetWith(browser, link!, 'a third password');
    expect(reused.statusCode).toBe(400);
    expect(reused.body).toContain('This link was already used.');
    expect((await identityTypes(userId)).filter((type) => type === 'PasswordChanged')).toHaveLength(1);
    expect((await running.logIn(email, NEW_PASSWORD, '198.51.100.24')).response.statusCode).toBe(303);
  });

  it('a newer link replaces an older one, and a made-up token changes nothing', async () => {
    const email = `twice-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    const browser = browserSession(running.system.web!, { remoteAddress: '198.51.100.30' });
    await forgot(browser, email);
    const [first] = await running.eventually(async () => {
      const links = await resetLinks(email);
      return links.length === 1 ? links : undefined;
    });
    await forgot(browser, email);
    const second = await running.eventually(async () => (await resetLinks(email)).find((link) => link !== first));

    const forged = await resetWith(
      browser,
      `/auth/reset-password?userId=${userId}&token=${'x'.repeat(43)}`,
      NEW_PASSWORD,
    );
    expect(forged.statusCode).toBe(400);
    expect(forged.body).toContain('This link is not valid.');
    const older = await resetWith(browser, first!, NEW_PASSWORD);
    expect(older.statusCode).toBe(400);
    expect(older.body).toContain('This link is not valid.');
    expect((await running.logIn(email, PASSWORD, '198.51.100.31')).response.statusCode).toBe(303);

    expect((await resetWith(browser, second, NEW_PASSWORD)).statusCode).toBe(303);
    expect((await running.logIn(email, NEW_PASSWORD, '198.51.100.32')).response.statusCode).toBe(303);
  });

  it('an unknown address gets the same page, and nothing is written or sent', async () => {
    const known = `known-${randomUUID().slice(0, 8)}@example.com`;
    await running.register(known, PASSWORD);
    const unknown = `nobody-${randomUUID().slice(0, 8)}@example.com`;
    const requests = async () =>
      (await running.system.store.read('identity:command', { from: 0, max: 100_000 })).filter(
        (message) => message.type === 'RequestPasswordReset',
      ).length;
    const written = await requests();

    const withoutToken = (body: string) => body.replace(/name="_csrf" value="[^"]*"/g, '');
    const forKnown = await forgot(browserSession(running.system.web!, { remoteAddress: '198.51.100.40' }), known);
    const forUnknown = await forgot(browserSession(running.system.web!, { remoteAddress: '198.51.100.41' }), unknown);
    expect(forUnknown.statusCode).toBe(forKnown.statusCode);
    expect(withoutToken(forUnknown.body)).toBe(withoutToken(forKnown.body));

    await running.eventually(async () => ((await resetLinks(known)).length > 0 ? true : undefined));
    await running.caughtUp();
    expect(await requests()).toBe(written + 1);
    expect(await running.emailsTo(unknown)).toHaveLength(0);

    // No address at all: the error summary links to the field.
    const empty = await forgot(browserSession(running.system.web!, { remoteAddress: '198.51.100.42' }), ' ');
    expect(empty.statusCode).toBe(400);
    expect(errorSummaryOf(empty.body)).toMatchObject({
      attributes: expect.stringContaining('autofocus') as string,
      errors: [{ message: 'Enter your e-mail address.', href: '#forgot-email' }],
    });
  });

  it('the form is rate-limited per client address', async () => {
    const browser = browserSession(running.system.web!, { remoteAddress: '198.51.100.50' });
    await browser.get('/auth/forgot-password');
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await browser.post('/auth/forgot-password', { email: `x${attempt}@example.com` })).statusCode).toBe(200);
    expect((await browser.post('/auth/forgot-password', { email: 'x5@example.com' })).statusCode).toBe(429);
    // Another address is not held back.
    const other = browserSession(running.system.web!, { remoteAddress: '198.51.100.51' });
    expect((await forgot(other, 'x6@example.com')).statusCode).toBe(200);
  });

  it('changing the password on the account page needs the current one, and ends the other sessions at once', async () => {
    const email = `changer-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    expect((await browserSession(running.system.web!).get('/account')).headers.location).toBe(
      '/auth/log-in?returnTo=%2Faccount',
    );
    const { browser } = await running.logIn(email, PASSWORD, '198.51.100.60');
    const { browser: other } = await running.logIn(email, PASSWORD, '198.51.100.61');
    const page = await browser.get('/account');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('action="/account/password"');

    const wrong = await browser.post('/account/password', {
      currentPassword: 'not my password',
      password: NEW_PASSWORD,
      passwordRepeat: NEW_PASSWORD,
    });
    expect(wrong.statusCode).toBe(403);
    expect(errorSummaryOf(wrong.body)?.errors).toEqual([
      { message: 'That is not your current password. Type it again.', href: '#account-current-password' },
    ]);
    // No password comes back into the page, not even the new one.
    expect(wrong.body).not.toContain(NEW_PASSWORD);
    expect(wrong.body).not.toContain('not my password');
    const missing = await browser.post('/account/password', { password: NEW_PASSWORD, passwordRepeat: NEW_PASSWORD });
    expect(missing.statusCode).toBe(400);
    expect(errorSummaryOf(missing.body)?.errors).toEqual([
      { message: 'Enter your current password.', href: '#account-current-password' },
    ]);
    const mismatch = await browser.post('/account/password', {
      currentPassword: PASSWORD,
      password: NEW_PASSWORD,
      passwordRepeat: 'something else',
    });
    expect(mismatch.statusCode).toBe(400);
    expect(errorSummaryOf(mismatch.body)?.errors).toEqual([
      {
        message: 'The two new passwords are not the same. Type the same password twice.',
        href: '#account-password-repeat',
      },
    ]);
    expect(mismatch.body).not.toContain(PASSWORD);
    await running.caughtUp();
    expect(await running.system.store.read(identityStreamName(userId))).not.toContainEqual(
      expect.objectContaining({ type: 'PasswordChanged' }),
    );
    expect(signedInAs((await other.get('/')).body, email)).toBe(true);

    // With user_credentials behind (its aggregator paused), the page waits for the change to be there: once it
    // answers, no earlier session is left.
    const aggregator = running.system.pieces.find((piece) => piece.name === 'user-credentials-aggregator')!;
    await aggregator.stop();
    let answered = false;
    const changing = browser
      .post('/account/password', { currentPassword: PASSWORD, password: NEW_PASSWORD, passwordRepeat: NEW_PASSWORD })
      .finally(() => (answered = true));
    await running.eventually(async () =>
      (await identityTypes(userId)).includes('PasswordChanged') ? true : undefined,
    );
    await sleep(300); // no signal: a page that waits shows nothing until it answers
    expect(answered).toBe(false);
    await aggregator.start();
    const changed = await changing;
    expect(changed.statusCode).toBe(303);
    expect(changed.headers.location).toBe('/auth/log-in?notice=password-changed');
    expect(signedInAs((await other.get('/')).body, email)).toBe(false);
    expect(signedInAs((await browser.get('/')).body, email)).toBe(false);
    expect((await running.logIn(email, PASSWORD, '198.51.100.62')).response.statusCode).toBe(401);
    expect((await running.logIn(email, NEW_PASSWORD, '198.51.100.63')).response.statusCode).toBe(303);
  });
});

describe('an expired reset link', () => {
  let running: RunningSystem;
  const ttlMs = 1500;
  beforeAll(async () => {
    running = await startRunningSystem(
      { APP_URL: 'https://videos.example.com' },
      { web: true, workers: [...workers] },
      { passwordResetLinkTtlMs: ttlMs },
    );
  }, 180_000);
  afterAll(() => running?.stop());

  it('is refused, and the password stays', async () => {
    const email = `late-${randomUUID().slice(0, 8)}@example.com`;
    await running.register(email, PASSWORD);
    const browser = browserSession(running.system.web!, { remoteAddress: '198.51.100.70' });
    await forgot(browser, email);
    const link = await running.eventually(async () => (await running.emailsTo(email)).map(resetLinkIn).find(Boolean));
    await sleep(ttlMs + 200); // the link expires with time itself
    const late = await resetWith(browser, link, NEW_PASSWORD);
    expect(late.statusCode).toBe(400);
    expect(late.body).toContain('This link has expired.');
    expect((await running.logIn(email, PASSWORD, '198.51.100.71')).response.statusCode).toBe(303);
  });
});
