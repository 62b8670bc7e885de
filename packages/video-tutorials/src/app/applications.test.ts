import { randomUUID } from 'node:crypto';
import type { MessageStore } from 'message-db-toolkit';
import type { TestDatabase } from 'message-db-toolkit/controls';
import bcrypt from 'bcryptjs';
import type { FastifyInstance } from 'fastify';
import { createSessions } from './authenticate/sessions.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityCommandStreamName } from '../contracts/identity.js';
import { authenticationStreamName } from '../contracts/authentication.js';
import { viewingStreamName } from '../contracts/viewing.js';
import { hashPassword } from '../passwords.js';
import { createSystemTestDatabase } from '../test-support/database.js';
import { browserSession } from '../test-support/browser-session.js';
import { elementWithId, errorSummaryOf } from '../test-support/page-checks.js';
import { buildWebServer } from '../web/server.js';
import { createAuthenticateApp } from './authenticate/index.js';
import { createHomeApp, SAMPLE_VIDEO_ID } from './home/index.js';
import { createPlaybackTokens, createRecordViewingsApp } from './record-viewings/index.js';
import { createRegisterUsersApp } from './register-users/index.js';

let test: TestDatabase & { store: MessageStore };
let app: FastifyInstance;
beforeAll(async () => {
  test = await createSystemTestDatabase();
  const { store, db: viewData } = test;
  const playbackTokens = createPlaybackTokens('a-test-cookie-secret-of-at-least-32-chars');
  app = await buildWebServer({
    appName: 'Video Tutorials',
    cookieSecret: 'a-test-cookie-secret-of-at-least-32-chars',
    secureCookies: false,
    sessions: createSessions({ store, viewData: viewData }),
    applications: [
      createHomeApp({ viewData, playbackTokens }),
      createRecordViewingsApp({ store, viewData, playbackTokens, sampleVideoIds: [SAMPLE_VIDEO_ID] }),
      createRegisterUsersApp({ store, viewData }),
      createAuthenticateApp({ store, viewData, logInAttemptsPerMinute: 20 }),
    ],
  });
});
afterAll(async () => {
  await app.close();
  await test.drop();
});

/**
 * A form that came back with errors: an error summary that takes the focus, listing `expected` (message, and the
 * field each links to, which says it is invalid); the e-mail address as typed, escaped; never the password.
 */
function expectErrorSummary(
  body: string,
  expected: { message: string; href?: string }[],
  typed: { emailField: string; email: string; password: string },
) {
  const summary = errorSummaryOf(body);
  expect(summary, 'an error summary').not.toBeNull();
  expect(summary!.attributes).toContain('tabindex="-1"');
  expect(summary!.attributes).toMatch(/(^|\s)autofocus(\s|$)/);
  expect(summary!.errors).toEqual(expected);
  expect(body).toMatch(/<title>Error: /);
  for (const { href } of expected) {
    if (!href) continue;
    const field = elementWithId(body, href.slice(1));
    expect(field, `the field ${href}`).toMatch(/^<input\b/);
    expect(field).toContain('aria-invalid="true"');
    expect(field).toContain(`aria-describedby="${href.slice(1)}-error`);
    expect(elementWithId(body, `${href.slice(1)}-error`), `the message beside ${href}`).toBeDefined();
  }
  const escaped = typed.email
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
  expect(elementWithId(body, typed.emailField)).toContain(` value="${escaped}"`);
  if (typed.password) expect(body).not.toContain(typed.password);
}

async function addCredentials(email: string, passwordHash: string, locked = false) {
  const id = randomUUID();
  await test.db.query(`INSERT INTO user_credentials (id, email, password_hash, locked) VALUES ($1, $2, $3, $4)`, [
    id,
    email,
    passwordHash,
    locked,
  ]);
  return id;
}

describe('every page', () => {
  it('has a trace id header, security headers and no stack traces on errors', async () => {
    const response = await app.inject({ url: '/' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-trace-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    const missing = await app.inject({ url: '/no/such/page?<script>' });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toContain('Page not found');
    expect(missing.body).not.toContain('<script>');
    expect((await app.inject({ url: '/assets/site.css' })).statusCode).toBe(200);
  });

  it('refuses a form without a valid CSRF token, and stores nothing', async () => {
    const browser = browserSession(app);
    await browser.get('/');
    const response = await browser.post(`/record-viewing/${SAMPLE_VIDEO_ID}`, { _csrf: 'forged' });
    expect(response.statusCode).toBe(403);
    expect(response.body).toContain('did not come from this site');
    const none = await app.inject({ method: 'POST', url: `/record-viewing/${SAMPLE_VIDEO_ID}` });
    expect(none.statusCode).toBe(403);
    expect(await test.store.read(viewingStreamName(SAMPLE_VIDEO_ID))).toEqual([]);
  });

  it('limits the size of a request body', async () => {
    const browser = browserSession(app);
    await browser.get('/register');
    const response = await browser.post('/register', { email: 'x'.repeat(20_000) });
    expect(response.statusCode).toBe(413);
  });
});

describe('home and record-viewings', () => {
  it('shows the count of videos watched and records a viewing with the request’s trace id', async () => {
    const browser = browserSession(app);
    const home = await browser.get('/');
    expect(home.body).toMatch(/data-testid="videos-watched">0</);
    const response = await browser.post(`/record-viewing/${SAMPLE_VIDEO_ID}`);
    expect(response.statusCode).toBe(303);
    const [viewed] = await test.store.read(viewingStreamName(SAMPLE_VIDEO_ID));
    expect(viewed).toMatchObject({
      type: 'VideoViewed',
      data: { userId: 'anonymous', videoId: SAMPLE_VIDEO_ID },
      metadata: { traceId: response.headers['x-trace-id'] },
    });
  });

  it('answers 404 for a video id that is not one', async () => {
    const browser = browserSession(app);
    await browser.get('/');
    expect((await browser.post('/record-viewing/not-a-uuid')).statusCode).toBe(404);
  });
});

describe('register-users', () => {
  const userIdOf = (body: string) => /name="userId" value="([^"]+)"/.exec(body)?.[1] ?? '';

  it('writes Register with a hashed password and the trace id, once however often it is submitted', async () => {
    const browser = browserSession(app);
    const form = await browser.get('/register');
    const userId = userIdOf(form.body);
    const email = `${randomUUID()}@example.com`;
    const first = await browser.post('/register', { userId, email, password: 'a good password' });
    expect(first.statusCode).toBe(303);
    expect(first.headers.location).toBe(`/register/registration-complete?userId=${userId}`);
    expect((await browser.post('/register', { userId, email, password: 'a good password' })).statusCode).toBe(303);
    const commands = await test.store.read(identityCommandStreamName(userId));
    expect(commands).toHaveLength(1);
    expect(commands[0]).toMatchObject({
      type: 'Register',
      data: { userId, email },
      metadata: { traceId: first.headers['x-trace-id'], userId },
    });
    expect(String(commands[0]!.data.passwordHash)).toMatch(/^\$argon2id\$/);
    expect((await browser.get('/register/registration-complete')).body).toContain('Welcome aboard');
  });

  const EMAIL_FIELD = '#register-email';
  const PASSWORD_FIELD = '#register-password';
  const LIKE = 'Enter an e-mail address like name@example.com.';
  it.each([
    [
      'empty',
      { email: '', password: '' },
      [
        { message: 'Enter your e-mail address.', href: EMAIL_FIELD },
        { message: 'Use at least 8 characters.', href: PASSWORD_FIELD },
      ],
    ],
    ['malformed e-mail', { email: 'not-an-address', password: 'long enough' }, [{ message: LIKE, href: EMAIL_FIELD }]],
    [
      'too long e-mail',
      { email: `${'a'.repeat(250)}@example.com`, password: 'long enough' },
      [{ message: 'That e-mail address is too long.', href: EMAIL_FIELD }],
    ],
    [
      'too long password',
      { email: 'someone@example.com', password: 'p'.repeat(129) },
      [{ message: 'Use at most 128 characters.', href: PASSWORD_FIELD }],
    ],
    [
      'script tags',
      { email: '<script>alert(1)</script>@example.com', password: 'long enough' },
      [{ message: LIKE, href: EMAIL_FIELD }],
    ],
  ])('refuses %s with a clear message, keeps what was typed escaped, stores nothing', async (_name, form, errors) => {
    const browser = browserSession(app);
    const page = await browser.get('/register');
    const userId = userIdOf(page.body);
    const response = await browser.post('/register', { userId, ...form });
    expect(response.statusCode).toBe(400);
    for (const { message } of errors) expect(response.body).toContain(message);
    // Above the form, a summary of the errors that takes the focus, each linking to its field.
    expectErrorSummary(response.body, errors, {
      emailField: 'register-email',
      email: form.email.slice(0, 254),
      password: form.password,
    });
    expect(response.body).not.toContain('<script>alert(1)</script>');
    if (form.email.includes('<script>')) expect(response.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(await test.store.read(identityCommandStreamName(userId))).toEqual([]);
  });

  it('says so in the error summary when the form has expired, an error of the whole form', async () => {
    const browser = browserSession(app);
    await browser.get('/register');
    const email = `${randomUUID()}@example.com`;
    const response = await browser.post('/register', { userId: 'expired', email, password: 'a good password' });
    expect(response.statusCode).toBe(400);
    expectErrorSummary(response.body, [{ message: 'This form has expired. Please reload the page.' }], {
      emailField: 'register-email',
      email,
      password: 'a good password',
    });
  });

  it('refuses an address that is already registered', async () => {
    const email = `${randomUUID()}@example.com`;
    await addCredentials(email, await hashPassword('whatever1'));
    const browser = browserSession(app);
    const page = await browser.get('/register');
    const response = await browser.post('/register', {
      userId: userIdOf(page.body),
      email: email.toUpperCase(),
      password: 'a good password',
    });
    expect(response.statusCode).toBe(400);
    expectErrorSummary(response.body, [{ message: 'That e-mail address is already registered.', href: EMAIL_FIELD }], {
      emailField: 'register-email',
      email: email.toUpperCase(),
      password: 'a good password',
    });
  });
});

describe('authenticate', () => {
  it('logs in with our hashes and the book’s bcrypt hashes, recording UserLoggedIn', async () => {
    for (const passwordHash of [await hashPassword('secret password'), await bcrypt.hash('secret password', 10)]) {
      const email = `${randomUUID()}@example.com`;
      const userId = await addCredentials(email, passwordHash);
      const browser = browserSession(app);
      await browser.get('/auth/log-in');
      const response = await browser.post('/auth/log-in', { email, password: 'secret password' });
      expect(response.statusCode).toBe(303);
      const events = await test.store.read(authenticationStreamName(userId));
      expect(events.map((event) => event.type)).toEqual(['UserLoggedIn']);
      expect(events[0]!.metadata.traceId).toBe(response.headers['x-trace-id']);
      const home = await browser.get('/');
      expect(home.body).toContain(email);
      await browser.post('/auth/log-out');
      expect((await browser.get('/')).body).not.toContain(email);
    }
  });

  it('does not tell an unknown address from a wrong password, and records the failure', async () => {
    const email = `${randomUUID()}@example.com`;
    const userId = await addCredentials(email, await hashPassword('the right one'));
    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    const wrong = await browser.post('/auth/log-in', { email, password: 'the wrong one' });
    const unknown = await browser.post('/auth/log-in', { email: `nobody-${email}`, password: 'the wrong one' });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    const errors = [{ message: 'That e-mail address and password do not match an account.' }];
    expectErrorSummary(wrong.body, errors, { emailField: 'log-in-email', email, password: 'the wrong one' });
    expectErrorSummary(unknown.body, errors, {
      emailField: 'log-in-email',
      email: `nobody-${email}`,
      password: 'the wrong one',
    });
    const events = await test.store.read(authenticationStreamName(userId));
    expect(events).toMatchObject([{ type: 'UserLoginFailed', data: { userId, reason: 'Incorrect password' } }]);
  });

  it('tells only the owner that an account is locked', async () => {
    const email = `${randomUUID()}@example.com`;
    await addCredentials(email, await hashPassword('the right one'), true);
    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    expect((await browser.post('/auth/log-in', { email, password: 'the wrong one' })).body).not.toContain('locked');
    const owner = await browser.post('/auth/log-in', { email, password: 'the right one' });
    expect(owner.statusCode).toBe(403);
    expect(owner.body).toContain('locked');
    expect(owner.cookies.find((cookie) => cookie.name === 'session')).toBeUndefined();
  });

  it.each([
    [
      'too long',
      { email: `${'a'.repeat(300)}@example.com`, password: 'x' },
      400,
      [{ message: 'That e-mail address is too long.', href: '#log-in-email' }],
    ],
    [
      'too long password',
      { email: 'a@example.com', password: 'p'.repeat(200) },
      400,
      [{ message: 'That password is too long.', href: '#log-in-password' }],
    ],
    [
      'script tags',
      { email: '<script>alert(1)</script>', password: 'whatever' },
      401,
      [{ message: 'That e-mail address and password do not match an account.' }],
    ],
  ])('refuses a %s log-in with a clear page, escaping what was typed', async (_name, form, status, errors) => {
    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    const response = await browser.post('/auth/log-in', form);
    expect(response.statusCode).toBe(status);
    expect(response.body).toContain('role="alert"');
    expect(errorSummaryOf(response.body)?.errors).toEqual(errors);
    expect(response.body).not.toContain('<script>alert(1)</script>');
  });

  it('refuses a log-in or log-out without a valid CSRF token', async () => {
    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    expect(
      (await browser.post('/auth/log-in', { _csrf: 'forged', email: 'a@example.com', password: 'x' })).statusCode,
    ).toBe(403);
    expect((await browser.post('/auth/log-out', { _csrf: '' })).statusCode).toBe(403);
  });

  it('refuses bad input without a 500 and never redirects off the site', async () => {
    const email = `${randomUUID()}@example.com`;
    await addCredentials(email, await hashPassword('the right one'));
    const browser = browserSession(app);
    await browser.get('/auth/log-in?returnTo=//evil.example.com');
    const empty = await browser.post('/auth/log-in', { email: '', password: '' });
    expect(empty.statusCode).toBe(400);
    expectErrorSummary(
      empty.body,
      [
        { message: 'Enter your e-mail address.', href: '#log-in-email' },
        { message: 'Enter your password.', href: '#log-in-password' },
      ],
      { emailField: 'log-in-email', email: '', password: '' },
    );
    const response = await browser.post('/auth/log-in', {
      email,
      password: 'the right one',
      returnTo: '//evil.example.com',
    });
    expect(response.headers.location).toBe('/');
  });

  it('limits log-in attempts per client', async () => {
    const browser = browserSession(app, { remoteAddress: '10.0.0.99' });
    await browser.get('/auth/log-in');
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 22; attempt++)
      statuses.push((await browser.post('/auth/log-in', { email: 'x@example.com', password: 'nope' })).statusCode);
    expect(statuses).toContain(429);
    expect(statuses).not.toContain(500);
  });
});

describe('register-users, its requests typed by zod schemas', () => {
  it('shows a form that holds anything but its fields as the form’s errors, and still checks its CSRF token', async () => {
    const browser = browserSession(app);
    await browser.get('/register');
    const other = await browser.post('/register', { nickname: 'not a field of the form' });
    expect(other.statusCode).toBe(400);
    expect(other.body).toContain('Create your account');
    expect(errorSummaryOf(other.body)!.errors.map((error) => error.href)).toContain('#register-email');
    const forged = await app.inject({ method: 'POST', url: '/register', payload: { email: 'someone@example.com' } });
    expect(forged.statusCode).toBe(403);
  });

  it('answers the status page of any link: the hint to reload it only when the link names a user', async () => {
    const links = ['?userId=not-a-user-id', `?userId=${randomUUID()}`, '?userId=a&userId=b'];
    for (const link of links) {
      const page = await browserSession(app).get(`/register/registration-complete${link}`);
      expect(page.statusCode, link).toBe(200);
      expect(page.body, link).toContain('Welcome aboard');
      expect(page.body, link).toContain('Reload this page in a moment');
    }
    const none = await browserSession(app).get('/register/registration-complete');
    expect(none.body).toContain('Welcome aboard');
    expect(none.body).not.toContain('Reload this page in a moment');
  });
});

describe('authenticate, its requests typed by zod schemas', () => {
  /** Posts `form` exactly as written (repeated fields and all) from `browser`, with its cookies. */
  const postAsWritten = (browser: ReturnType<typeof browserSession>, url: string, form: string) =>
    app.inject({
      method: 'POST',
      url,
      payload: form,
      headers: { cookie: browser.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
    });
  const TOKEN = 'a'.repeat(32);

  it('reads a log-in link’s repeated or unknown values as none: home afterwards, no notice', async () => {
    const odd = await browserSession(app).get(
      '/auth/log-in?returnTo=/videos&returnTo=/account&notice=password-changed&notice=password-changed',
    );
    expect(odd.statusCode).toBe(200);
    expect(odd.body).toContain('name="returnTo" value="/"');
    expect(odd.body).not.toContain('data-testid="log-in-notice"');
    const plain = await browserSession(app).get('/auth/log-in?returnTo=%2Faccount&notice=password-changed');
    expect(plain.body).toContain('name="returnTo" value="/account"');
    expect(plain.body).toContain('data-testid="log-in-notice"');
  });

  it('shows a log-in form with repeated fields as the form’s errors, and still checks its CSRF token', async () => {
    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    const csrf = encodeURIComponent(browser.csrfToken);
    const repeated = await postAsWritten(
      browser,
      '/auth/log-in',
      `_csrf=${csrf}&email=a%40example.com&email=b%40example.com&password=one&password=two`,
    );
    expect(repeated.statusCode).toBe(400);
    expect(errorSummaryOf(repeated.body)!.errors.map((error) => error.href)).toEqual([
      '#log-in-email',
      '#log-in-password',
    ]);
    const forged = await postAsWritten(browser, '/auth/log-in', 'email=a%40example.com&password=a-password');
    expect(forged.statusCode).toBe(403);
  });

  it('answers an e-mailed link whose user id or token is repeated, missing or malformed: not valid', async () => {
    const userId = randomUUID();
    const links = [
      `?userId=${userId}&userId=${randomUUID()}&token=${TOKEN}`,
      `?userId=${userId}&token=${TOKEN}&token=${TOKEN}`,
      `?userId=${userId}`,
      `?userId=not-a-user-id&token=${TOKEN}`,
    ];
    for (const path of ['/auth/confirm-email', '/auth/unlock', '/auth/reset-password'])
      for (const link of links) {
        const page = await browserSession(app).get(`${path}${link}`);
        expect(page.statusCode, `${path}${link}`).toBe(400);
        expect(page.body, `${path}${link}`).toContain('This link is not valid.');
      }
    const valid = await browserSession(app).get(`/auth/confirm-email?userId=${userId}&token=${TOKEN}`);
    expect(valid.statusCode).toBe(200);
    expect(valid.body).toContain('Confirm my address');

    const browser = browserSession(app);
    await browser.get('/auth/log-in');
    const csrf = encodeURIComponent(browser.csrfToken);
    for (const path of ['/auth/confirm-email', '/auth/unlock', '/auth/reset-password']) {
      const form = `_csrf=${csrf}&userId=${userId}&userId=${userId}&token=${TOKEN}&password=a-new-password`;
      const posted = await postAsWritten(browser, path, form);
      expect(posted.statusCode, path).toBe(400);
      expect(posted.body, path).toContain('This link is not valid.');
    }
  });
});
