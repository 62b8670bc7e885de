import { html } from '../../../html.js';
import {
  emailField,
  errorSummary,
  fieldError,
  fieldState,
  titleWithErrors,
  type FormError,
} from '../../../web/forms.js';
import type { PageOptions } from '../../../web/layout.js';

/** The notices the log-in page shows after the account page signed the user out everywhere, by their names. */
export const SIGNED_OUT_NOTICES: Record<string, string> = {
  'password-changed': 'Your password was changed and you were signed out everywhere. Log in with your new password.',
  'logged-out-everywhere': 'You were logged out everywhere, on every device. Log in again to carry on.',
};

export interface LogInView {
  csrfToken: string;
  /** As typed (the password never comes back). */
  email: string;
  /** Where to go after logging in: a path on this site. */
  returnTo: string;
  errors?: FormError[];
  /** Why the user is here, signed out (one of `SIGNED_OUT_NOTICES`). */
  notice?: string | undefined;
}

export function logInPage({ csrfToken, email, returnTo, errors = [], notice }: LogInView): PageOptions {
  return {
    title: titleWithErrors('Log in', errors),
    description: 'Log in to upload and manage your video tutorials.',
    body: html`<div class="card narrow">
      <h1>Log in</h1>
      ${errorSummary(errors)}
      ${notice ? html`<div class="alert ok" role="status" data-testid="log-in-notice">${notice}</div>` : ''}
      <form method="post" action="/auth/log-in" class="stack">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <input type="hidden" name="returnTo" value="${returnTo}" />
        ${emailField('log-in-email', email, errors)}
        <div class="field">
          <label for="log-in-password">Password</label>
          <input
            id="log-in-password"
            type="password"
            name="password"
            autocomplete="current-password"
            maxlength="128"
            required
            ${fieldState(errors, 'log-in-password')}
          />
          ${fieldError(errors, 'log-in-password')}
        </div>
        <button type="submit" class="block">Log in</button>
      </form>
      <p class="muted form-footer"><a href="/auth/forgot-password">Forgot your password?</a></p>
      <p class="muted form-footer">New here? <a href="/register">Create an account</a></p>
    </div>`,
  };
}

/**
 * The page a link e-mailed to the user opens (to confirm the address, to unlock the account): a button that
 * posts the link's user id and token, so that a link checker fetching the link does nothing.
 */
export function emailedLinkPage({
  csrfToken,
  title,
  action,
  button,
  userId,
  token,
}: {
  csrfToken: string;
  title: string;
  /** Where the button posts. */
  action: string;
  button: string;
  userId: string;
  token: string;
}): PageOptions {
  return {
    title,
    body: html`<div class="card narrow">
      <h1>${title}</h1>
      <form method="post" action="${action}" class="stack">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <input type="hidden" name="userId" value="${userId}" />
        <input type="hidden" name="token" value="${token}" />
        <button type="submit" class="block">${button}</button>
      </form>
    </div>`,
  };
}

/** Where a message page leads on: home, or the log-in page (after anything about a password). */
export const GO_HOME = { href: '/', label: 'Go home' };
export const LOG_IN = { href: '/auth/log-in', label: 'Log in' };

/** A page that says one thing: what was done, or (`failed`) why it could not be. */
export function messagePage({
  title,
  message,
  failed = false,
  next,
}: {
  title: string;
  message: string;
  failed?: boolean;
  next: { href: string; label: string };
}): PageOptions {
  return {
    title,
    body: html`<div class="card narrow">
      <h1>${title}</h1>
      <div class="alert ${failed ? 'error' : 'ok'}" role="status">${message}</div>
      <div class="actions"><a class="button" href="${next.href}">${next.label}</a></div>
    </div>`,
  };
}
