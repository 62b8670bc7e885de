import type { Message, MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { findOpenSessions, type AccountSession } from '../../aggregators/account-sessions/index.js';
import { listVideosOfOwner } from '../../aggregators/creators-videos/index.js';
import { findAccountStanding } from '../../aggregators/user-credentials/index.js';
import { DeleteAccount, LogOutEverywhere } from '../../contracts/identity.js';
import { requireUser } from '../../web/guards.js';
import { errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import { html, type SafeHtml } from '../../html.js';
import { isCurrentPassword } from './identity-answers.js';
import { endSession, type SessionSettings } from './sessions.js';
import { requestMetadata } from '../../web/request-metadata.js';

/** The notices the log-in page shows after the account page signed the user out everywhere. */
export const SIGNED_OUT_NOTICES: Record<string, string> = {
  'password-changed': 'Your password was changed and you were signed out everywhere. Log in with your new password.',
  'logged-out-everywhere': 'You were logged out everywhere, on every device. Log in again to carry on.',
};

/** Trying the password to delete the account: per user, as for changing it. */
export const PASSWORD_TRIES = {
  max: 10,
  timeWindow: 15 * 60_000,
  keyGenerator: (request: FastifyRequest) => request.user?.userId ?? request.ip,
};

const sessionForm = z.object({ sessionId: z.uuid() });
const text = (value: unknown, max: number) => (typeof value === 'string' ? value.slice(0, max) : '');

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
 * The account page, `/account`: the address and whether it is confirmed, changing the password (passwords.ts),
 * the sessions open with "log out" for each and "log out everywhere", and deleting the account. Signed-in
 * users only; every form carries the CSRF token.
 */
export function registerAccountRoutes(app: FastifyInstance, dependencies: AccountPageDependencies) {
  const { store, viewData, verifyPassword, decided, signedOutEverywhere } = dependencies;
  const page = accountPage(dependencies);

  app.get('/account', { preHandler: requireUser }, async (request, reply) => page(request, reply));

  // One session, by its id: only one of this user's own (an id of someone else's changes nothing).
  app.post('/account/sessions/log-out', { preHandler: requireUser }, async (request, reply) => {
    const parsed = sessionForm.safeParse(request.body ?? {});
    const { userId } = request.user!;
    const ended =
      parsed.success &&
      (await endSession(store, parsed.data.sessionId, request.traceId, { ownedBy: userId, reason: 'logged out' }));
    if (!ended)
      return page(request, reply, { errors: [{ message: 'That session is not one of yours, or it has ended.' }] }, 404);
    if (parsed.data.sessionId === request.sessionId) {
      await reply.signOut();
      return reply.redirect('/auth/log-in', 303);
    }
    return reply.redirect('/account?notice=session-ended#sessions', 303);
  });

  // Every session of the account, this one too: whoever holds a copied cookie is out at the next request.
  app.post('/account/log-out-everywhere', { preHandler: requireUser }, async (request, reply) => {
    const { userId } = request.user!;
    const command = LogOutEverywhere.create({ userId }, { metadata: requestMetadata(request, userId) });
    return signedOutEverywhere(reply, await decided(userId, command), 'logged-out-everywhere');
  });

  app.post(
    '/account/delete',
    { preHandler: requireUser, config: { rateLimit: PASSWORD_TRIES } },
    async (request, reply) => {
      const user = request.user!;
      const body = (request.body ?? {}) as Record<string, unknown>;
      const password = text(body.currentPassword, 129);
      const errors: FormError[] = [];
      if (password === '') errors.push({ field: 'delete-password', message: 'Enter your password.' });
      if (body.understood !== 'yes')
        errors.push({
          field: 'delete-understood',
          message: 'Tick the box to say you understand that this cannot be undone.',
        });
      if (errors.length > 0) return page(request, reply, { errors }, 400);
      if (!(await isCurrentPassword(viewData, verifyPassword, user, password)))
        return page(
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
      return reply.page(
        'Account deleted',
        html`<div class="card narrow">
          <h1>Your account is deleted</h1>
          <div class="alert ok" role="status" data-testid="account-deleted">
            ${
              answer
                ? 'You are signed out everywhere, and nobody can log in with your address and password any more.'
                : 'Your account is being deleted and you are being signed out everywhere: this takes a moment.'
            }
          </div>
          <p class="muted">You are welcome back: registering with the same address makes a new, empty account.</p>
          <div class="actions"><a class="button" href="/">Go home</a></div>
        </div>`,
      );
    },
  );
}

/** Renders the account page for the signed-in user, with the errors of the form that came back, if any. */
export function accountPage({
  viewData,
  sessionSettings,
}: Pick<AccountPageDependencies, 'viewData' | 'sessionSettings'>) {
  return async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    { errors = [] }: { errors?: FormError[] } = {},
    statusCode = errors.length > 0 ? 400 : 200,
  ) {
    const { userId, email } = request.user!;
    const [standing, sessions, videos] = await Promise.all([
      findAccountStanding(viewData, userId),
      findOpenSessions(viewData, userId, sessionSettings),
      listVideosOfOwner(viewData, userId),
    ]);
    // This browser's session is listed even while the aggregator has not caught up with its log-in.
    const listed = sessions.some((session) => session.sessionId === request.sessionId);
    const { notice } = request.query as { notice?: unknown };
    const csrf = reply.csrfToken();
    return reply.page(
      titleWithErrors('Your account', errors),
      html`<div class="account">
        <h1>Your account</h1>
        ${errorSummary(errors)}
        ${
          notice === 'session-ended'
            ? html`<div class="alert ok" role="status" data-testid="account-notice">That session is logged out.</div>`
            : ''
        }
        <section class="card" aria-labelledby="account-address">
          <h2 id="account-address">Your address</h2>
          <p class="account-address">
            <strong>${email}</strong>
            ${
              standing?.emailConfirmed
                ? html`<span class="badge published" data-testid="address-confirmed">Confirmed</span>`
                : html`<span class="badge" data-testid="address-unconfirmed">Not confirmed yet</span>`
            }
          </p>
          ${
            standing?.emailConfirmed
              ? html`<p class="muted">You confirmed that this address is yours.</p>`
              : html`<p class="muted">We sent you a link to confirm that this address is yours.</p>
                  <form method="post" action="/auth/confirmation-email" class="inline">
                    <input type="hidden" name="_csrf" value="${csrf}" />
                    <button type="submit" class="button small secondary">Send it again</button>
                  </form>`
          }
        </section>

        <section class="card" aria-labelledby="account-change-password">
          <h2 id="account-change-password">Change your password</h2>
          <form method="post" action="/account/password" class="stack">
            <input type="hidden" name="_csrf" value="${csrf}" />
            ${passwordField('account-current-password', 'currentPassword', 'Current password', 'current-password', errors)}
            ${passwordField('account-password', 'password', 'New password', 'new-password', errors)}
            ${passwordField('account-password-repeat', 'passwordRepeat', 'New password again', 'new-password', errors)}
            <button type="submit">Change my password</button>
          </form>
          <p class="muted form-footer">Changing it signs you out everywhere, on every device.</p>
        </section>

        <section class="card" id="sessions" aria-labelledby="account-sessions">
          <h2 id="account-sessions">Where you are logged in</h2>
          <ul class="sessions" data-testid="sessions">
            ${listed || !request.sessionId ? '' : sessionItem({ current: true, session: null, csrf })}
            ${sessions.map((session) =>
              sessionItem({ current: session.sessionId === request.sessionId, session, csrf }),
            )}
          </ul>
          <form method="post" action="/account/log-out-everywhere" class="stack">
            <input type="hidden" name="_csrf" value="${csrf}" />
            <button type="submit" class="secondary">Log out everywhere</button>
          </form>
          <p class="muted form-footer">
            Logs out every session of your account, this one too. Use it if you logged in on a computer that is not
            yours, or think someone else has.
          </p>
        </section>

        <section class="card danger-zone" aria-labelledby="account-delete">
          <h2 id="account-delete">Delete your account</h2>
          <p>Deleting your account logs you out everywhere, and nobody can log in with it any more.</p>
          <ul class="muted">
            <li>
              ${
                videos.length === 0
                  ? 'You have no videos.'
                  : html`Your ${videos.length === 1 ? 'video stays' : `${videos.length} videos stay`} on the site
                      without your account:
                      <a href="/creators-portal">remove ${videos.length === 1 ? 'it' : 'them'}</a> first if you want
                      ${videos.length === 1 ? 'it' : 'them'} gone.`
              }
            </li>
            <li>
              What happened in your account stays in our message store, which is never rewritten: your address is in its
              records of your registration and e-mails.
            </li>
            <li>You may register again with the same address: that makes a new, empty account.</li>
          </ul>
          <form method="post" action="/account/delete" class="stack">
            <input type="hidden" name="_csrf" value="${csrf}" />
            ${passwordField('delete-password', 'currentPassword', 'Your password', 'current-password', errors)}
            <div class="field checkbox">
              <input
                id="delete-understood"
                type="checkbox"
                name="understood"
                value="yes"
                required
                ${fieldState(errors, 'delete-understood')}
              />
              <label for="delete-understood">I understand that deleting my account cannot be undone.</label>
              ${fieldError(errors, 'delete-understood')}
            </div>
            <button type="submit" class="danger">Delete my account</button>
          </form>
        </section>
      </div>`,
      statusCode,
    );
  };
}

export type AccountPage = ReturnType<typeof accountPage>;

const dateTime = (at: Date) =>
  html`<time datetime="${at.toISOString()}">${at.toISOString().slice(0, 16).replace('T', ' ')} UTC</time>`;

/** One session in the list: its device, when it started and was last seen, and a button to log it out. */
function sessionItem({
  current,
  session,
  csrf,
}: {
  current: boolean;
  session: AccountSession | null;
  csrf: string;
}): SafeHtml {
  return html`<li class="session" data-testid="session">
    <div>
      <strong>${session?.device ?? 'This browser'}</strong>
      ${current ? html`<span class="badge" data-testid="this-browser">This browser</span>` : ''}
      ${
        session
          ? html`<p class="muted small">
              Logged in ${dateTime(session.startedAt)} · last seen ${dateTime(session.lastSeenAt)}
            </p>`
          : html`<p class="muted small">Logged in just now</p>`
      }
    </div>
    ${
      session && !current
        ? html`<form method="post" action="/account/sessions/log-out" class="inline">
            <input type="hidden" name="_csrf" value="${csrf}" />
            <input type="hidden" name="sessionId" value="${session.sessionId}" />
            <button
              type="submit"
              class="button small secondary"
              aria-label="Log out ${session.device}, last seen ${session.lastSeenAt.toISOString().slice(0, 16).replace('T', ' ')} UTC"
            >
              Log out
            </button>
          </form>`
        : ''
    }
  </li>`;
}

/** A password field, always empty: a password is never written into a page, not even back into its form. */
export const passwordField = (id: string, name: string, label: string, autocomplete: string, errors: FormError[]) =>
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

/** As registration asks. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;
