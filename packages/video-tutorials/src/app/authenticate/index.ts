import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { findCredentialsByEmail } from '../../aggregators/user-credentials/index.js';
import {
  authenticationStreamName,
  UserLoggedIn,
  UserLoginFailed,
  type UserLoginFailed as UserLoginFailedMessage,
} from '../../contracts/authentication.js';
import {
  ConfirmEmail,
  identityCommandStreamName,
  RequestEmailConfirmation,
  UnlockAccount,
} from '../../contracts/identity.js';
import { unknownUserHash, verifyPassword as verifyWithHash, type PasswordHashAlgorithm } from '../../passwords.js';
import { requireUser } from '../../web/guards.js';
import type { FormError } from '../../web/forms.js';
import { formBody, parseResult, typedText, zodRoutes } from '../../web/input.js';
import { safeReturnPath } from '../../web/return-path.js';
import { emailedLink, emailedLinkFields } from './emailed-links.js';
import { registerPasswordRoutes } from './passwords.js';
import { defaultSessionSettings, type SessionSettings } from './sessions.js';
import { requestMetadata } from '../../web/request-metadata.js';
import {
  emailedLinkPage,
  GO_HOME,
  logInPage,
  messagePage,
  SIGNED_OUT_NOTICES,
  type LogInView,
} from './views/log-in.js';

const credentials = z.object({
  email: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(128),
});

/** Failed log-ins in a row an account may have without waiting; then 1 s, 2 s, 4 s … up to 5 minutes. */
const FREE_FAILURES = 3;
const MAX_ACCOUNT_DELAY_MS = 5 * 60_000;
/** The account's latest log-in messages read to count failures in a row. */
const RECENT = 20;

// One answer for an unknown address and a wrong password: it tells an attacker nothing.
const REJECTED = 'That e-mail address and password do not match an account.';

/** What is wrong with a field of the log-in form, linking to it: missing, or longer than any account's. */
function logInInputError(issue: z.core.$ZodIssue): FormError {
  const tooLong = issue.code === 'too_big';
  return issue.path[0] === 'password'
    ? { field: 'log-in-password', message: tooLong ? 'That password is too long.' : 'Enter your password.' }
    : { field: 'log-in-email', message: tooLong ? 'That e-mail address is too long.' : 'Enter your e-mail address.' };
}

/** The authenticate application (the book's chapter 9): log in, log out; forgotten and changed passwords. */
export function createAuthenticateApp({
  store,
  viewData,
  logInAttemptsPerMinute = 10,
  verifyPassword = verifyWithHash,
  passwordHashAlgorithm = 'argon2id',
  sessionSettings = defaultSessionSettings,
}: {
  store: MessageStore;
  viewData: Queryable;
  logInAttemptsPerMinute?: number;
  /** The sessions' limits (`SESSION_IDLE_MINUTES`, `SESSION_MAX_HOURS`), for the account page's list. */
  sessionSettings?: SessionSettings;
  /** How new passwords (reset or changed) are hashed (`PASSWORD_HASH_ALGORITHM`). Log-in verifies either kind. */
  passwordHashAlgorithm?: PasswordHashAlgorithm;
  /** Checks a password against a hash (the real one; tests count the work it does). */
  verifyPassword?: (passwordHash: string, password: string) => Promise<boolean>;
}): FastifyPluginAsync {
  // Made now, so that the first unknown address costs no more than the others.
  const unknownUser = unknownUserHash(passwordHashAlgorithm);
  /** How long the account's next log-in attempt must wait: 0 until `FREE_FAILURES`, then doubling. */
  // A failed log-in is answered before it is recorded (so that an unknown address costs the same); the next
  // attempt on the account waits for that record, so the throttle counts every failure of this process.
  const recordingFailures = new Map<string, Promise<unknown>>();
  const accountWait = async (userId: string) => {
    await recordingFailures.get(userId);
    const streamName = authenticationStreamName(userId);
    const version = await store.streamVersion(streamName);
    if (version < 0) return 0;
    const recent = await store.read(streamName, { from: Math.max(0, version - RECENT + 1), max: RECENT });
    const failures: UserLoginFailedMessage[] = [];
    for (const message of recent.reverse()) {
      if (message.type === UserLoggedIn.type) break;
      if (UserLoginFailed.is(message)) failures.push(UserLoginFailed.parse(message));
    }
    if (failures.length < FREE_FAILURES) return 0;
    const delayMs = Math.min(1000 * 2 ** (failures.length - FREE_FAILURES), MAX_ACCOUNT_DELAY_MS);
    return Math.max(0, failures[0]!.time.getTime() + delayMs - Date.now());
  };

  return async (plugin) => {
    const app = zodRoutes(plugin);
    const showLogIn = (reply: FastifyReply, view: Omit<LogInView, 'csrfToken'>, statusCode = 200) =>
      reply.view(logInPage({ csrfToken: reply.csrfToken(), ...view }), statusCode);

    app.get('/auth/log-in', { schema: { querystring: logInQuery } }, async (request, reply) => {
      const { returnTo, notice } = request.query;
      return showLogIn(reply, { email: '', returnTo, notice });
    });

    app.post(
      '/auth/log-in',
      // Per client address, and each attempt while limited doubles the wait.
      {
        config: { rateLimit: { max: logInAttemptsPerMinute, timeWindow: 60_000, exponentialBackoff: true } },
        schema: { body: logInForm },
      },
      async (request, reply) => {
        const { returnTo } = request.body;
        const parsed = credentials.safeParse({ email: request.body.email, password: request.body.password });
        if (!parsed.success) {
          // What was typed comes back (the e-mail address, never the password), with what is missing.
          const typed = request.body.email.trim().slice(0, 254);
          const errors = parsed.error.issues.map(logInInputError);
          return showLogIn(reply, { email: typed, returnTo, errors }, 400);
        }
        const { email, password } = parsed.data;

        // The same work whether the address is known or not: one verification, with a hash as costly as a
        // real one, and the failure answered before it is recorded (a write the unknown address has not).
        const account = await findCredentialsByEmail(viewData, email);
        // Per account, from its own log-in history: after a few failures each attempt waits longer. A
        // throttled attempt is not tried, so it is no failure either: guessing cannot hurry a lock.
        const waitMs = account ? await accountWait(account.id) : 0;
        if (waitMs > 0) {
          reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
          const message = `Too many failed log-ins for this account. Try again in ${Math.ceil(waitMs / 1000)} seconds.`;
          return showLogIn(reply, { email, returnTo, errors: [{ message }] }, 429);
        }
        const verified = await verifyPassword(account?.passwordHash ?? (await unknownUser), password);
        if (!account) return showLogIn(reply, { email, returnTo, errors: [{ message: REJECTED }] }, 401);
        const metadata = requestMetadata(request, account.id);
        if (!verified) {
          showLogIn(reply, { email, returnTo, errors: [{ message: REJECTED }] }, 401);
          const recording = store
            .write(
              authenticationStreamName(account.id),
              UserLoginFailed.create({ userId: account.id, reason: 'Incorrect password' }, { metadata }),
            )
            .catch((error: unknown) => request.log.error({ err: error }, 'recording a failed log-in failed'))
            .finally(() => {
              if (recordingFailures.get(account.id) === recording) recordingFailures.delete(account.id);
            });
          recordingFailures.set(account.id, recording);
          await recording;
          return reply;
        }
        // Only someone who knows the password learns that the account is locked.
        if (account.locked)
          return showLogIn(
            reply,
            {
              email,
              returnTo,
              errors: [
                {
                  message: account.lockedUntil
                    ? `This account is locked after too many failed log-ins until ${account.lockedUntil.toISOString().slice(0, 16).replace('T', ' ')} UTC. We e-mailed you a link to unlock it now.`
                    : 'This account is locked after too many failed log-ins. Ask an administrator to unlock it.',
                },
              ],
            },
            403,
          );
        await store.write(
          authenticationStreamName(account.id),
          UserLoggedIn.create({ userId: account.id }, { metadata }),
        );
        await reply.signIn({ userId: account.id, email: account.email });
        return reply.redirect(returnTo, 303);
      },
    );

    app.post('/auth/log-out', async (_request, reply) => {
      await reply.signOut();
      return reply.redirect('/', 303);
    });

    // The link in the e-mail opens a page whose button confirms: a link checker fetching it confirms nothing.
    app.get('/auth/confirm-email', { schema: { querystring: parseResult(emailedLink) } }, async (request, reply) => {
      const link = request.query;
      if (!link.success) return showMessage(reply, 'Confirm your address', 'This link is not valid.', 400);
      return reply.view(
        emailedLinkPage({
          csrfToken: reply.csrfToken(),
          title: 'Confirm your address',
          action: '/auth/confirm-email',
          button: 'Confirm my address',
          ...link.data,
        }),
      );
    });

    app.post(
      '/auth/confirm-email',
      {
        config: { rateLimit: { max: logInAttemptsPerMinute, timeWindow: 60_000 } },
        schema: { body: emailedLinkForm },
      },
      async (request, reply) => {
        const parsed = emailedLink.safeParse(request.body);
        if (!parsed.success) return showMessage(reply, 'Confirm your address', 'This link is not valid.', 400);
        const { userId, token } = parsed.data;
        // Identity checks the token (one-time, with an expiry) and confirms; the pages show it when it has.
        await store.write(
          identityCommandStreamName(userId),
          ConfirmEmail.create({ userId, token }, { metadata: requestMetadata(request, userId) }),
        );
        return showMessage(
          reply,
          'Confirming your address',
          'Thank you. Your address is being confirmed: this takes a moment.',
        );
      },
    );

    // The unlock link e-mailed at a lock: a page whose button asks identity to unlock (it checks the token).
    app.get('/auth/unlock', { schema: { querystring: parseResult(emailedLink) } }, async (request, reply) => {
      const link = request.query;
      if (!link.success) return showMessage(reply, 'Unlock your account', 'This link is not valid.', 400);
      return reply.view(
        emailedLinkPage({
          csrfToken: reply.csrfToken(),
          title: 'Unlock your account',
          action: '/auth/unlock',
          button: 'Unlock my account',
          ...link.data,
        }),
      );
    });

    app.post(
      '/auth/unlock',
      {
        config: { rateLimit: { max: logInAttemptsPerMinute, timeWindow: 60_000 } },
        schema: { body: emailedLinkForm },
      },
      async (request, reply) => {
        const parsed = emailedLink.safeParse(request.body);
        if (!parsed.success) return showMessage(reply, 'Unlock your account', 'This link is not valid.', 400);
        const { userId, token } = parsed.data;
        await store.write(
          identityCommandStreamName(userId),
          UnlockAccount.create({ userId, token }, { metadata: requestMetadata(request, userId) }),
        );
        return showMessage(reply, 'Unlock your account', 'Your account is being unlocked: log in again in a moment.');
      },
    );

    // "Send it again", for a signed-in user whose address is not confirmed.
    app.post(
      '/auth/confirmation-email',
      {
        config: {
          rateLimit: { max: 3, timeWindow: 10 * 60_000, keyGenerator: (request) => request.user?.userId ?? request.ip },
        },
        preHandler: requireUser,
      },
      async (request, reply) => {
        const { userId } = request.user!;
        await store.write(
          identityCommandStreamName(userId),
          RequestEmailConfirmation.create({ userId }, { metadata: requestMetadata(request, userId) }),
        );
        return showMessage(reply, 'Confirmation e-mail', 'We are sending you a new confirmation link.');
      },
    );

    registerPasswordRoutes(app, {
      store,
      viewData,
      verifyPassword,
      passwordHashAlgorithm,
      attemptsPerMinute: logInAttemptsPerMinute,
      sessionSettings,
    });
  };
}

const emailedLinkForm = formBody(emailedLinkFields);

/** Where to go after logging in: a path on this site, else home. */
const returnPath = z
  .unknown()
  .optional()
  .transform((returnTo) => safeReturnPath(returnTo));

/** The log-in page's link: where to go afterwards, and why the user is here, if known. */
const logInQuery = z.object({
  returnTo: returnPath,
  notice: z
    .unknown()
    .optional()
    .transform((notice) =>
      typeof notice === 'string' && Object.hasOwn(SIGNED_OUT_NOTICES, notice) ? SIGNED_OUT_NOTICES[notice] : undefined,
    ),
});
const logInForm = formBody({
  email: typedText,
  password: typedText,
  returnTo: returnPath,
});

/** A page that says one thing, and leads home. */
const showMessage = (reply: FastifyReply, title: string, message: string, statusCode = 200) =>
  reply.view(messagePage({ title, message, failed: statusCode >= 400, next: GO_HOME }), statusCode);
