import type { Message, MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findOpenSessions } from '../../aggregators/account-sessions/index.js';
import { listVideosOfOwner } from '../../aggregators/creators-videos/index.js';
import { findAccountStanding } from '../../aggregators/user-credentials/index.js';
import { DeleteAccount, LogOutEverywhere } from '../../contracts/identity.js';
import { requireUser } from '../../web/guards.js';
import type { FormError } from '../../web/forms.js';
import { formBody, typedText, type ZodRoutes } from '../../web/input.js';
import { isCurrentPassword } from './identity-answers.js';
import { endSession, type SessionSettings } from './sessions.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { accountDeletedPage, accountPage } from './views/account.js';
import { PASSWORD_MAX } from './views/passwords.js';

/** Trying the password to delete the account: per user, as for changing it. */
export const PASSWORD_TRIES = {
  max: 10,
  timeWindow: 15 * 60_000,
  keyGenerator: (request: FastifyRequest) => request.user?.userId ?? request.ip,
};

/** A password as typed, cut just past the longest allowed (a longer one is refused by the rules anyway). */
export const typedPassword = typedText.transform((password) => password.slice(0, PASSWORD_MAX + 1));

/** One session to log out, by its id (none when the form names no session id). */
const sessionForm = formBody({ sessionId: z.uuid().optional().catch(undefined) });
const deleteForm = formBody({ currentPassword: typedPassword, understood: typedText });
/** The page says so after one of the sessions was logged out. */
const accountQuery = z
  .object({ notice: z.unknown().optional() })
  .transform(({ notice }) => ({ sessionEnded: notice === 'session-ended' }));

export interface AccountPageDependencies {
  store: MessageStore;
  viewData: Queryable;
  sessionSettings: SessionSettings;
  verifyPassword: (passwordHash: string, password: string) => Promise<boolean>;
  /** Writes an identity command and waits for its answer to be applied (see identity-answers.ts). */
  decided: (userId: string, command: Message) => Promise<StoredMessage | null>;
  /** After an answer that ended every session: this browser signs out too, and is told so. */
  signedOutEverywhere: (reply: FastifyReply, answer: StoredMessage | null, notice: string) => Promise<FastifyReply>;
}

/**
 * The account page, `/account` (views/account.ts), and its forms: logging sessions out, deleting the account
 * (changing the password: passwords.ts). Signed-in users only; every form carries the CSRF token.
 */
export function registerAccountRoutes(app: ZodRoutes, dependencies: AccountPageDependencies) {
  const { store, viewData, verifyPassword, decided, signedOutEverywhere } = dependencies;
  const showAccount = accountPageOf(dependencies);

  app.get('/account', { preHandler: requireUser, schema: { querystring: accountQuery } }, async (request, reply) =>
    showAccount(request, reply, { sessionEnded: request.query.sessionEnded }),
  );

  // One session, by its id: only one of this user's own (an id of someone else's changes nothing).
  app.post(
    '/account/sessions/log-out',
    { preHandler: requireUser, schema: { body: sessionForm } },
    async (request, reply) => {
      const { sessionId } = request.body;
      const { userId } = request.user!;
      const ended =
        sessionId !== undefined &&
        (await endSession(store, sessionId, request.traceId, { ownedBy: userId, reason: 'logged out' }));
      if (!ended)
        return showAccount(
          request,
          reply,
          { errors: [{ message: 'That session is not one of yours, or it has ended.' }] },
          404,
        );
      if (sessionId === request.sessionId) {
        await reply.signOut();
        return reply.redirect('/auth/log-in', 303);
      }
      return reply.redirect('/account?notice=session-ended#sessions', 303);
    },
  );

  // Every session of the account, this one too: whoever holds a copied cookie is out at the next request.
  app.post('/account/log-out-everywhere', { preHandler: requireUser }, async (request, reply) => {
    const { userId } = request.user!;
    const command = LogOutEverywhere.create({ userId }, { metadata: requestMetadata(request, userId) });
    return signedOutEverywhere(reply, await decided(userId, command), 'logged-out-everywhere');
  });

  app.post(
    '/account/delete',
    { preHandler: requireUser, config: { rateLimit: PASSWORD_TRIES }, schema: { body: deleteForm } },
    async (request, reply) => {
      const user = request.user!;
      const { currentPassword: password, understood } = request.body;
      const errors: FormError[] = [];
      if (password === '') errors.push({ field: 'delete-password', message: 'Enter your password.' });
      if (understood !== 'yes')
        errors.push({
          field: 'delete-understood',
          message: 'Tick the box to say you understand that this cannot be undone.',
        });
      if (errors.length > 0) return showAccount(request, reply, { errors }, 400);
      if (!(await isCurrentPassword(viewData, verifyPassword, user, password)))
        return showAccount(
          request,
          reply,
          { errors: [{ field: 'delete-password', message: 'That is not your password. Type it again.' }] },
          403,
        );
      const command = DeleteAccount.create(
        { userId: user.userId, currentPasswordVerified: true },
        { metadata: requestMetadata(request, user.userId) },
      );
      const answer = await decided(user.userId, command);
      await reply.signOut();
      return reply.view(accountDeletedPage({ answered: answer !== null }));
    },
  );
}

/**
 * Shows the account page to the signed-in user, as View Data has the account, with the errors of the form that
 * came back, if any.
 */
export function accountPageOf({
  viewData,
  sessionSettings,
}: Pick<AccountPageDependencies, 'viewData' | 'sessionSettings'>) {
  return async function showAccount(
    request: FastifyRequest,
    reply: FastifyReply,
    { errors = [], sessionEnded = false }: { errors?: FormError[]; sessionEnded?: boolean } = {},
    statusCode = errors.length > 0 ? 400 : 200,
  ) {
    const { userId, email } = request.user!;
    const [standing, sessions, videos] = await Promise.all([
      findAccountStanding(viewData, userId),
      findOpenSessions(viewData, userId, sessionSettings),
      listVideosOfOwner(viewData, userId),
    ]);
    const page = accountPage({
      csrfToken: reply.csrfToken(),
      email,
      emailConfirmed: Boolean(standing?.emailConfirmed),
      sessions,
      currentSessionId: request.sessionId,
      videoCount: videos.length,
      sessionEnded,
      errors,
    });
    return reply.view(page, statusCode);
  };
}
