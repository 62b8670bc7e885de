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

/** As registration asks. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

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

export function forgotPasswordPage({
  csrfToken,
  email,
  errors,
}: {
  csrfToken: string;
  /** As typed. */
  email: string;
  errors: FormError[];
}): PageOptions {
  return {
    title: titleWithErrors('Forgot your password?', errors),
    body: html`<div class="card narrow">
      <h1>Forgot your password?</h1>
      ${errorSummary(errors)}
      <p class="muted">Enter the address you registered with: we will e-mail you a link to choose a new password.</p>
      <form method="post" action="/auth/forgot-password" class="stack">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        ${emailField('forgot-email', email, errors)}
        <button type="submit" class="block">E-mail me a link</button>
      </form>
    </div>`,
  };
}

/** The form the e-mailed reset link opens, for the link's user id and token; it always comes back empty. */
export function resetPasswordPage({
  csrfToken,
  userId,
  token,
  errors,
}: {
  csrfToken: string;
  userId: string;
  token: string;
  errors: FormError[];
}): PageOptions {
  return {
    title: titleWithErrors('Choose a new password', errors),
    body: html`<div class="card narrow">
      <h1>Choose a new password</h1>
      ${errorSummary(errors)}
      <form method="post" action="/auth/reset-password" class="stack">
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <input type="hidden" name="userId" value="${userId}" />
        <input type="hidden" name="token" value="${token}" />
        ${passwordField('reset-password', 'password', 'New password', 'new-password', errors)}
        ${passwordField('reset-password-repeat', 'passwordRepeat', 'New password again', 'new-password', errors)}
        <button type="submit" class="block">Change my password</button>
      </form>
      <p class="muted form-footer">You will be signed out everywhere, then log in with the new password.</p>
    </div>`,
  };
}
