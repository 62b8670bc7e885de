import { setTimeout as sleep } from 'node:timers/promises';
import type { Message, MessageStore, Queryable, StoredMessage } from '@vt/message-store';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { findAccountStanding, findCredentialsByEmail } from '../../aggregators/user-credentials/index.js';
import {
  ChangePassword,
  identityCommandStreamName,
  identityStreamName,
  PasswordChanged,
  PasswordResetRejected,
  RequestPasswordReset,
  ResetPassword,
} from '../../contracts/identity.js';
import { hashPassword, type PasswordHashAlgorithm } from '../../passwords.js';
import { requireUser } from '../../web/guards.js';
import { errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import { html } from '../../web/html.js';

/** As registration asks. */
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;

/** The notice the log-in page shows after a password change (`/auth/log-in?notice=password-changed`). */
export const PASSWORD_CHANGED_NOTICE =
  'Your password was changed and you were signed out everywhere. Log in with your new password.';

const resetLink = z.object({ userId: z.uuid(), token: z.string().regex(/^[A-Za-z0-9_-]{20,200}$/) });
/** A form field as typed, cut at `max` characters (a longer one is refused by the rules anyway). */
const text = (value: unknown, max: number) => (typeof value === 'string' ? value.slice(0, max) : '');

/**
 * Why a new password is refused, as a sentence about one of the two fields (their ids are `${idPrefix}` and
 * `${idPrefix}-repeat`); `null` when it will do.
 */
function newPasswordProblem(password: string, repeated: string, idPrefix: string): FormError | null {
  if (password.length < PASSWORD_MIN)
    return { field: idPrefix, message: `Use at least ${PASSWORD_MIN} characters for your new password.` };
  if (password.length > PASSWORD_MAX)
    return { field: idPrefix, message: `Use at most ${PASSWORD_MAX} characters for your new password.` };
  if (password !== repeated)
    return {
      field: `${idPrefix}-repeat`,
      message: 'The two new passwords are not the same. Type the same password twice.',
    };
  return null;
}

const REJECTIONS: Record<string, string> = {
  'link not valid': 'This link is not valid. Ask for a new one.',
  'link expired': 'This link has expired. Ask for a new one.',
  'link already used': 'This link was already used. Ask for a new one if you need to.',
};

/**
 * Forgotten and changed passwords. The pages write identity's commands (`RequestPasswordReset`,
 * `ResetPassword`, `ChangePassword`); identity decides. A change ends every session: the page waits (a few
 * seconds at most) until identity's `PasswordChanged` is in `user_credentials`, so every other session is over
 * from the very next request, then signs this browser out too.
 */
export function registerPasswordRoutes(
  app: FastifyInstance,
  {
    store,
    viewData,
    verifyPassword,
    passwordHashAlgorithm = 'argon2id',
    attemptsPerMinute,
    outcomeWaitMs = 10_000,
  }: {
    store: MessageStore;
    viewData: Queryable;
    verifyPassword: (passwordHash: string, password: string) => Promise<boolean>;
    passwordHashAlgorithm?: PasswordHashAlgorithm;
    attemptsPerMinute: number;
    outcomeWaitMs?: number;
  },
) {
  /** Writes `command` to the user's command stream and waits for identity's answer (`null`: not in time). */
  async function decided(userId: string, command: Message): Promise<StoredMessage | null> {
    const streamName = identityStreamName(userId);
    const from = (await store.streamVersion(streamName)) + 1;
    const { position } = await store.write(identityCommandStreamName(userId), command);
    const deadline = Date.now() + outcomeWaitMs;
    for (;;) {
      const answer = (await store.read(streamName, from)).find(
        (event) =>
          event.metadata.causationMessageStreamName === identityCommandStreamName(userId) &&
          event.metadata.causationMessagePosition === position,
      );
      if (answer) {
        if (!PasswordChanged.is(answer)) return answer;
        // Sessions end when user_credentials has the change: wait for it, so the very next request of any
        // session started before it is refused.
        for (;;) {
          const endedAt = (await findAccountStanding(viewData, userId))?.sessionsEndedAt;
          if (endedAt && endedAt.getTime() >= answer.time.getTime()) return answer;
          if (Date.now() > deadline) return null;
          await sleep(25);
        }
      }
      if (Date.now() > deadline) return null;
      await sleep(25);
    }
  }

  /** After a change: this browser signs out too, and the log-in page says why. */
  async function signedOutEverywhere(reply: FastifyReply, answer: StoredMessage | null) {
    await reply.signOut();
    if (answer === null)
      return renderMessage(
        reply,
        'Password',
        'Your password is being changed and you are being signed out everywhere. Log in with your new password in a moment.',
      );
    return reply.redirect('/auth/log-in?notice=password-changed', 303);
  }

  app.get('/auth/forgot-password', async (_request, reply) => renderForgotPassword(reply, { email: '', errors: [] }));

  app.post(
    '/auth/forgot-password',
    // Per client address: nobody floods an inbox or probes addresses in bulk.
    { config: { rateLimit: { max: 5, timeWindow: 15 * 60_000 } } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const email = text(body.email, 254).trim();
      if (email === '')
        return renderForgotPassword(
          reply,
          { email, errors: [{ field: 'forgot-email', message: 'Enter your e-mail address.' }] },
          400,
        );
      const account = await findCredentialsByEmail(viewData, email);
      // The same page, at the same time, for any address: the request is written without waiting for it.
      if (account)
        store
          .write(
            identityCommandStreamName(account.id),
            RequestPasswordReset.create(
              { userId: account.id },
              { metadata: { traceId: request.traceId, userId: request.user?.userId ?? account.id } },
            ),
          )
          .catch((error: unknown) => request.log.error({ err: error }, 'asking for a password reset failed'));
      return renderMessage(
        reply,
        'Check your e-mail',
        'If an account uses that address, we are e-mailing it a link to choose a new password. The link works for an hour.',
      );
    },
  );

  // The link in the e-mail opens a form; a link checker fetching it changes nothing. The token in its address
  // goes into no cache and no Referer.
  app.get('/auth/reset-password', async (request, reply) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const parsed = resetLink.safeParse(request.query);
    if (!parsed.success) return renderMessage(reply, 'Choose a new password', REJECTIONS['link not valid']!, 400);
    return renderResetPassword(reply, { ...parsed.data, errors: [] });
  });

  app.post(
    '/auth/reset-password',
    { config: { rateLimit: { max: attemptsPerMinute, timeWindow: 60_000 } } },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const parsed = resetLink.safeParse(body);
      if (!parsed.success) return renderMessage(reply, 'Choose a new password', REJECTIONS['link not valid']!, 400);
      const { userId, token } = parsed.data;
      const password = text(body.password, PASSWORD_MAX + 1);
      const passwordRepeat = text(body.passwordRepeat, PASSWORD_MAX + 1);
      const problem = newPasswordProblem(password, passwordRepeat, 'reset-password');
      // The form comes back empty: a password is never written into a page.
      if (problem) return renderResetPassword(reply, { userId, token, errors: [problem] }, 400);
      const command = ResetPassword.create(
        { userId, token, passwordHash: await hashPassword(password, passwordHashAlgorithm) },
        { metadata: { traceId: request.traceId, userId } },
      );
      const answer = await decided(userId, command);
      if (answer && PasswordResetRejected.is(answer)) {
        const { reason } = PasswordResetRejected.parse(answer).data;
        return renderMessage(reply, 'Choose a new password', REJECTIONS[reason] ?? REJECTIONS['link not valid']!, 400);
      }
      return signedOutEverywhere(reply, answer);
    },
  );

  app.get('/account', { preHandler: requireUser }, async (request, reply) =>
    renderAccount(reply, { email: request.user!.email, errors: [] }),
  );

  app.post(
    '/account/password',
    {
      preHandler: requireUser,
      // Per user: a borrowed session cannot guess the current password at speed.
      config: {
        rateLimit: { max: 10, timeWindow: 15 * 60_000, keyGenerator: (request) => request.user?.userId ?? request.ip },
      },
    },
    async (request, reply) => {
      const { userId, email } = request.user!;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const typed = {
        currentPassword: text(body.currentPassword, PASSWORD_MAX + 1),
        password: text(body.password, PASSWORD_MAX + 1),
        passwordRepeat: text(body.passwordRepeat, PASSWORD_MAX + 1),
      };
      // The form comes back empty: a password is never written into a page.
      if (typed.currentPassword === '')
        return renderAccount(
          reply,
          { email, errors: [{ field: 'account-current-password', message: 'Enter your current password.' }] },
          400,
        );
      const problem = newPasswordProblem(typed.password, typed.passwordRepeat, 'account-password');
      if (problem) return renderAccount(reply, { email, errors: [problem] }, 400);
      const account = await findCredentialsByEmail(viewData, email);
      const verified =
        account !== null &&
        account.id === userId &&
        (await verifyPassword(account.passwordHash, typed.currentPassword));
      if (!verified)
        return renderAccount(
          reply,
          {
            email,
            errors: [
              { field: 'account-current-password', message: 'That is not your current password. Type it again.' },
            ],
          },
          403,
        );
      const command = ChangePassword.create(
        {
          userId,
          currentPasswordVerified: true,
          passwordHash: await hashPassword(typed.password, passwordHashAlgorithm),
        },
        { metadata: { traceId: request.traceId, userId } },
      );
      return signedOutEverywhere(reply, await decided(userId, command));
    },
  );
}

function renderMessage(reply: FastifyReply, title: string, message: string, statusCode = 200) {
  return reply.page(
    title,
    html`<div class="card narrow">
      <h1>${title}</h1>
      <div class="alert ${statusCode < 400 ? 'ok' : 'error'}" role="status">${message}</div>
      <div class="actions"><a class="button" href="/auth/log-in">Log in</a></div>
    </div>`,
    statusCode,
  );
}

function renderForgotPassword(
  reply: FastifyReply,
  { email, errors }: { email: string; errors: FormError[] },
  statusCode = 200,
) {
  return reply.page(
    titleWithErrors('Forgot your password?', errors),
    html`<div class="card narrow">
      <h1>Forgot your password?</h1>
      ${errorSummary(errors)}
      <p class="muted">Enter the address you registered with: we will e-mail you a link to choose a new password.</p>
      <form method="post" action="/auth/forgot-password" class="stack">
        <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
        <div class="field">
          <label for="forgot-email">E-mail</label>
          <input
            id="forgot-email"
            type="email"
            name="email"
            value="${email}"
            autocomplete="email"
            inputmode="email"
            spellcheck="false"
            maxlength="254"
            required
            ${fieldState(errors, 'forgot-email')}
          />
          ${fieldError(errors, 'forgot-email')}
        </div>
        <button type="submit" class="block">E-mail me a link</button>
      </form>
    </div>`,
    statusCode,
  );
}

/** A password field, always empty: a password is never written into a page, not even back into its form. */
const passwordField = (id: string, name: string, label: string, autocomplete: string, errors: FormError[]) =>
  html`<div class="field">
    <label for="${id}">${label}</label>
    <input
      id="${id}"
      type="password"
      name="${name}"
      autocomplete="${autocomplete}"
      minlength="${autocomplete === 'new-password' ? PASSWORD_MIN : 1}"
      maxlength="${PASSWORD_MAX}"
      required
      ${fieldState(errors, id)}
    />
    ${fieldError(errors, id)}
  </div>`;

function renderResetPassword(
  reply: FastifyReply,
  { userId, token, errors }: { userId: string; token: string; errors: FormError[] },
  statusCode = 200,
) {
  return reply.page(
    titleWithErrors('Choose a new password', errors),
    html`<div class="card narrow">
      <h1>Choose a new password</h1>
      ${errorSummary(errors)}
      <form method="post" action="/auth/reset-password" class="stack">
        <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
        <input type="hidden" name="userId" value="${userId}" />
        <input type="hidden" name="token" value="${token}" />
        ${passwordField('reset-password', 'password', 'New password', 'new-password', errors)}
        ${passwordField('reset-password-repeat', 'passwordRepeat', 'New password again', 'new-password', errors)}
        <button type="submit" class="block">Change my password</button>
      </form>
      <p class="muted form-footer">You will be signed out everywhere, then log in with the new password.</p>
    </div>`,
    statusCode,
  );
}

function renderAccount(
  reply: FastifyReply,
  { email, errors }: { email: string; errors: FormError[] },
  statusCode = 200,
) {
  return reply.page(
    titleWithErrors('Your account', errors),
    html`<div class="card narrow">
      <h1>Your account</h1>
      <p class="muted">Signed in as ${email}.</p>
      ${errorSummary(errors)}
      <h2>Change your password</h2>
      <form method="post" action="/account/password" class="stack">
        <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
        ${passwordField('account-current-password', 'currentPassword', 'Current password', 'current-password', errors)}
        ${passwordField('account-password', 'password', 'New password', 'new-password', errors)}
        ${passwordField('account-password-repeat', 'passwordRepeat', 'New password again', 'new-password', errors)}
        <button type="submit" class="block">Change my password</button>
      </form>
      <p class="muted form-footer">Changing it signs you out everywhere, on every device.</p>
    </div>`,
    statusCode,
  );
}
