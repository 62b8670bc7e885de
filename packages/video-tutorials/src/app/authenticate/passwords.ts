import type { MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { FastifyReply } from 'fastify';
import { findCredentialsByEmail } from '../../aggregators/user-credentials/index.js';
import {
  ChangePassword,
  identityCommandStreamName,
  PasswordResetRejected,
  RequestPasswordReset,
  ResetPassword,
} from '../../contracts/identity.js';
import { hashPassword, type PasswordHashAlgorithm } from '../../passwords.js';
import { requireUser } from '../../web/guards.js';
import type { FormError } from '../../web/forms.js';
import { formBody, parseResult, typedText, type ZodRoutes } from '../../web/input.js';
import { emailedLink, emailedLinkFields } from './emailed-links.js';
import { accountPageOf, PASSWORD_TRIES, registerAccountRoutes, typedPassword } from './account.js';
import { identityAnswers, isCurrentPassword } from './identity-answers.js';
import type { SessionSettings } from './sessions.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { LOG_IN, messagePage } from './views/log-in.js';
import { forgotPasswordPage, PASSWORD_MAX, PASSWORD_MIN, resetPasswordPage } from './views/passwords.js';

const resetForm = formBody({ ...emailedLinkFields, password: typedPassword, passwordRepeat: typedPassword });
const forgotForm = formBody({ email: typedText.transform((email) => email.slice(0, 254).trim()) });
const changeForm = formBody({ currentPassword: typedPassword, password: typedPassword, passwordRepeat: typedPassword });

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
  app: ZodRoutes,
  {
    store,
    viewData,
    verifyPassword,
    passwordHashAlgorithm = 'argon2id',
    attemptsPerMinute,
    sessionSettings,
    outcomeWaitMs = 10_000,
  }: {
    store: MessageStore;
    viewData: Queryable;
    verifyPassword: (passwordHash: string, password: string) => Promise<boolean>;
    passwordHashAlgorithm?: PasswordHashAlgorithm;
    attemptsPerMinute: number;
    /** The sessions' limits, for the account page's list of open sessions. */
    sessionSettings: SessionSettings;
    outcomeWaitMs?: number;
  },
) {
  const decided = identityAnswers({ store, viewData, waitMs: outcomeWaitMs });

  /** After a change (or a log-out everywhere): this browser signs out too, and the log-in page says why. */
  async function signedOutEverywhere(reply: FastifyReply, answer: StoredMessage | null, notice = 'password-changed') {
    await reply.signOut();
    if (answer === null)
      return showMessage(
        reply,
        notice === 'password-changed' ? 'Password' : 'Logging out everywhere',
        notice === 'password-changed'
          ? 'Your password is being changed and you are being signed out everywhere. Log in with your new password in a moment.'
          : 'You are being logged out everywhere. Log in again in a moment.',
      );
    return reply.redirect(`/auth/log-in?notice=${notice}`, 303);
  }

  const showAccount = accountPageOf({ viewData, sessionSettings });
  registerAccountRoutes(app, { store, viewData, sessionSettings, verifyPassword, decided, signedOutEverywhere });

  app.get('/auth/forgot-password', async (_request, reply) =>
    reply.view(forgotPasswordPage({ csrfToken: reply.csrfToken(), email: '', errors: [] })),
  );

  app.post(
    '/auth/forgot-password',
    // Per client address: nobody floods an inbox or probes addresses in bulk.
    { config: { rateLimit: { max: 5, timeWindow: 15 * 60_000 } }, schema: { body: forgotForm } },
    async (request, reply) => {
      const { email } = request.body;
      if (email === '')
        return reply.view(
          forgotPasswordPage({
            csrfToken: reply.csrfToken(),
            email,
            errors: [{ field: 'forgot-email', message: 'Enter your e-mail address.' }],
          }),
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
              { metadata: requestMetadata(request, request.user?.userId ?? account.id) },
            ),
          )
          .catch((error: unknown) => request.log.error({ err: error }, 'asking for a password reset failed'));
      return showMessage(
        reply,
        'Check your e-mail',
        'If an account uses that address, we are e-mailing it a link to choose a new password. The link works for an hour.',
      );
    },
  );

  // The link in the e-mail opens a form; a link checker fetching it changes nothing. The token in its address
  // goes into no cache and no Referer.
  app.get('/auth/reset-password', { schema: { querystring: parseResult(emailedLink) } }, async (request, reply) => {
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    const parsed = request.query;
    if (!parsed.success) return showMessage(reply, 'Choose a new password', REJECTIONS['link not valid']!, 400);
    return reply.view(resetPasswordPage({ csrfToken: reply.csrfToken(), ...parsed.data, errors: [] }));
  });

  app.post(
    '/auth/reset-password',
    { config: { rateLimit: { max: attemptsPerMinute, timeWindow: 60_000 } }, schema: { body: resetForm } },
    async (request, reply) => {
      const parsed = emailedLink.safeParse(request.body);
      if (!parsed.success) return showMessage(reply, 'Choose a new password', REJECTIONS['link not valid']!, 400);
      const { userId, token } = parsed.data;
      const { password, passwordRepeat } = request.body;
      const problem = newPasswordProblem(password, passwordRepeat, 'reset-password');
      // The form comes back empty: a password is never written into a page.
      if (problem)
        return reply.view(resetPasswordPage({ csrfToken: reply.csrfToken(), userId, token, errors: [problem] }), 400);
      const command = ResetPassword.create(
        { userId, token, passwordHash: await hashPassword(password, passwordHashAlgorithm) },
        { metadata: requestMetadata(request, userId) },
      );
      const answer = await decided(userId, command);
      if (answer && PasswordResetRejected.is(answer)) {
        const { reason } = PasswordResetRejected.parse(answer).data;
        return showMessage(reply, 'Choose a new password', REJECTIONS[reason] ?? REJECTIONS['link not valid']!, 400);
      }
      return signedOutEverywhere(reply, answer);
    },
  );

  app.post(
    '/account/password',
    // Per user: a borrowed session cannot guess the current password at speed.
    { preHandler: requireUser, config: { rateLimit: PASSWORD_TRIES }, schema: { body: changeForm } },
    async (request, reply) => {
      const user = request.user!;
      const typed = request.body;
      // The form comes back empty: a password is never written into a page.
      if (typed.currentPassword === '')
        return showAccount(request, reply, {
          errors: [{ field: 'account-current-password', message: 'Enter your current password.' }],
        });
      const problem = newPasswordProblem(typed.password, typed.passwordRepeat, 'account-password');
      if (problem) return showAccount(request, reply, { errors: [problem] });
      if (!(await isCurrentPassword(viewData, verifyPassword, user, typed.currentPassword)))
        return showAccount(
          request,
          reply,
          {
            errors: [
              { field: 'account-current-password', message: 'That is not your current password. Type it again.' },
            ],
          },
          403,
        );
      const command = ChangePassword.create(
        {
          userId: user.userId,
          currentPasswordVerified: true,
          passwordHash: await hashPassword(typed.password, passwordHashAlgorithm),
        },
        { metadata: requestMetadata(request, user.userId) },
      );
      return signedOutEverywhere(reply, await decided(user.userId, command));
    },
  );
}

/** A page that says one thing, and leads on to the log-in page. */
const showMessage = (reply: FastifyReply, title: string, message: string, statusCode = 200) =>
  reply.view(messagePage({ title, message, failed: statusCode >= 400, next: LOG_IN }), statusCode);
