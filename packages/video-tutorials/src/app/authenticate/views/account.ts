import type { AccountSession } from '../../../aggregators/account-sessions/index.js';
import { html, type SafeHtml } from '../../../html.js';
import { errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../../web/forms.js';
import type { PageOptions } from '../../../web/layout.js';
import { passwordField } from './passwords.js';

export interface AccountView {
  csrfToken: string;
  email: string;
  emailConfirmed: boolean;
  /** The account's open sessions, as View Data lists them. */
  sessions: AccountSession[];
  /** This browser's session. */
  currentSessionId: string | null;
  /** How many videos the user uploaded (they stay when the account is deleted). */
  videoCount: number;
  /** Whether the user just logged one of the sessions out. */
  sessionEnded: boolean;
  /** The errors of the form that came back, if any. */
  errors: FormError[];
}

/**
 * The account page: the address and whether it is confirmed, changing the password, the sessions open with
 * "log out" for each and "log out everywhere", and deleting the account. Every form carries the CSRF token.
 */
export function accountPage(view: AccountView): PageOptions {
  const { csrfToken: csrf, email, errors, sessions, currentSessionId, videoCount } = view;
  // This browser's session is listed even while the aggregator has not caught up with its log-in.
  const listed = sessions.some((session) => session.sessionId === currentSessionId);
  return {
    title: titleWithErrors('Your account', errors),
    body: html`<div class="account">
      <h1>Your account</h1>
      ${errorSummary(errors)}
      ${
        view.sessionEnded
          ? html`<div class="alert ok" role="status" data-testid="account-notice">That session is logged out.</div>`
          : ''
      }
      <section class="card" aria-labelledby="account-address">
        <h2 id="account-address">Your address</h2>
        <p class="account-address">
          <strong>${email}</strong>
          ${
            view.emailConfirmed
              ? html`<span class="badge published" data-testid="address-confirmed">Confirmed</span>`
              : html`<span class="badge" data-testid="address-unconfirmed">Not confirmed yet</span>`
          }
        </p>
        ${
          view.emailConfirmed
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
          ${listed || !currentSessionId ? '' : sessionItem({ current: true, session: null, csrf })}
          ${sessions.map((session) => sessionItem({ current: session.sessionId === currentSessionId, session, csrf }))}
        </ul>
        <form method="post" action="/account/log-out-everywhere" class="stack">
          <input type="hidden" name="_csrf" value="${csrf}" />
          <button type="submit" class="secondary">Log out everywhere</button>
        </form>
        <p class="muted form-footer">
          Logs out every session of your account, this one too. Use it if you logged in on a computer that is not yours,
          or think someone else has.
        </p>
      </section>

      <section class="card danger-zone" aria-labelledby="account-delete">
        <h2 id="account-delete">Delete your account</h2>
        <p>Deleting your account logs you out everywhere, and nobody can log in with it any more.</p>
        <ul class="muted">
          <li>
            ${
              videoCount === 0
                ? 'You have no videos.'
                : html`Your ${videoCount === 1 ? 'video stays' : `${videoCount} videos stay`} on the site without your
                    account: <a href="/creators-portal">remove ${videoCount === 1 ? 'it' : 'them'}</a> first if you want
                    ${videoCount === 1 ? 'it' : 'them'} gone.`
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
  };
}

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

/** After the account was deleted: `answered`, whether identity's answer came in time (else it is on its way). */
export function accountDeletedPage({ answered }: { answered: boolean }): PageOptions {
  return {
    title: 'Account deleted',
    body: html`<div class="card narrow">
      <h1>Your account is deleted</h1>
      <div class="alert ok" role="status" data-testid="account-deleted">
        ${
          answered
            ? 'You are signed out everywhere, and nobody can log in with your address and password any more.'
            : 'Your account is being deleted and you are being signed out everywhere: this takes a moment.'
        }
      </div>
      <p class="muted">You are welcome back: registering with the same address makes a new, empty account.</p>
      <div class="actions"><a class="button" href="/">Go home</a></div>
    </div>`,
  };
}
