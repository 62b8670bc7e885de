import type { MessageStore, Queryable } from '@vt/message-store';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { findCredentialsByEmail } from '../../aggregators/user-credentials/index.js';
import { authenticationStreamName, UserLoggedIn, UserLoginFailed } from '../../contracts/authentication.js';
import { spendVerificationTime, verifyPassword } from '../../passwords.js';
import { html } from '../../web/html.js';

const credentials = z.object({
  email: z.string().trim().min(1).max(254),
  password: z.string().min(1).max(128),
});

// One answer for an unknown address and a wrong password: it tells an attacker nothing.
const REJECTED = 'That e-mail address and password do not match an account.';

/** The authenticate application (the book's chapter 9): log in, log out. */
export function createAuthenticateApp({
  store,
  viewData,
  logInAttemptsPerMinute = 10,
}: {
  store: MessageStore;
  viewData: Queryable;
  logInAttemptsPerMinute?: number;
}): FastifyPluginAsync {
  return async (app) => {
    app.get('/auth/log-in', async (request, reply) => {
      const { returnTo } = request.query as { returnTo?: string };
      return renderLogIn(reply, { email: '', returnTo: safeReturnPath(returnTo) });
    });

    app.post(
      '/auth/log-in',
      { config: { rateLimit: { max: logInAttemptsPerMinute, timeWindow: 60_000 } } },
      async (request, reply) => {
        const body = (request.body ?? {}) as Record<string, unknown>;
        const returnTo = safeReturnPath(typeof body.returnTo === 'string' ? body.returnTo : undefined);
        const parsed = credentials.safeParse({ email: body.email, password: body.password });
        if (!parsed.success)
          return renderLogIn(reply, { email: '', returnTo, error: 'Enter your e-mail address and password.' }, 400);
        const { email, password } = parsed.data;

        const account = await findCredentialsByEmail(viewData, email);
        if (!account) {
          await spendVerificationTime(password);
          return renderLogIn(reply, { email, returnTo, error: REJECTED }, 401);
        }
        const metadata = { traceId: request.traceId, userId: account.id };
        if (!(await verifyPassword(account.passwordHash, password))) {
          await store.write(
            authenticationStreamName(account.id),
            UserLoginFailed.create({ userId: account.id, reason: 'Incorrect password' }, { metadata }),
          );
          return renderLogIn(reply, { email, returnTo, error: REJECTED }, 401);
        }
        // Only someone who knows the password learns that the account is locked.
        if (account.locked)
          return renderLogIn(
            reply,
            {
              email,
              returnTo,
              error: 'This account is locked after too many failed log-ins. Ask an administrator to unlock it.',
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
  };
}

/** Only a path on this site: never `//elsewhere` or a full URL. */
function safeReturnPath(value: string | undefined): string {
  return value && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/';
}

function renderLogIn(
  reply: FastifyReply,
  { email, returnTo, error }: { email: string; returnTo: string; error?: string },
  statusCode = 200,
) {
  return reply.page(
    'Log in',
    html`<div class="card narrow">
      <h1>Log in</h1>
      ${error ? html`<div class="alert error" role="alert">${error}</div>` : ''}
      <form method="post" action="/auth/log-in" class="stack">
        <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
        <input type="hidden" name="returnTo" value="${returnTo}" />
        <div class="field">
          <label for="log-in-email">E-mail</label>
          <input
            id="log-in-email"
            type="email"
            name="email"
            value="${email}"
            autocomplete="email"
            inputmode="email"
            spellcheck="false"
            maxlength="254"
            required
          />
        </div>
        <div class="field">
          <label for="log-in-password">Password</label>
          <input
            id="log-in-password"
            type="password"
            name="password"
            autocomplete="current-password"
            maxlength="128"
            required
          />
        </div>
        <button type="submit" class="block">Log in</button>
      </form>
      <p class="muted form-footer">New here? <a href="/register">Create an account</a></p>
    </div>`,
    statusCode,
  );
}
