import type { findRegistrationOutcome } from '../../aggregators/registration-monitor/index.js';
import { DISPLAY_NAME_MAX } from '../../contracts/identity.js';
import { html } from '../../html.js';
import { emailField, errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import type { PageOptions } from '../../web/layout.js';

/** The registration form as shown: empty, or as it came back with its errors. */
export interface RegistrationFormView {
  csrfToken: string;
  userId: string;
  /** As typed (the password never comes back). */
  email: string;
  displayName: string;
  errors: FormError[];
}

export function registrationFormPage({
  csrfToken,
  userId,
  email,
  displayName,
  errors,
}: RegistrationFormView): PageOptions {
  // The password's error says what its hint does, and takes its place.
  const passwordError = errors.some((error) => error.field === 'register-password');
  return {
    title: titleWithErrors('Register', errors),
    description: 'Create an account to upload your own video tutorials.',
    body: html`<div class="card narrow">
      <h1>Create your account</h1>
      ${errorSummary(errors)}
      <form method="post" action="/register" class="stack" novalidate>
        <input type="hidden" name="_csrf" value="${csrfToken}" />
        <input type="hidden" name="userId" value="${userId}" />
        <div class="field">
          <label for="register-name">Your name <span class="muted">(optional)</span></label>
          <input
            id="register-name"
            type="text"
            name="displayName"
            value="${displayName}"
            autocomplete="name"
            maxlength="${DISPLAY_NAME_MAX}"
            ${fieldState(errors, 'register-name', errors.some((error) => error.field === 'register-name') ? undefined : 'register-name-hint')}
          />
          ${
            errors.some((error) => error.field === 'register-name')
              ? fieldError(errors, 'register-name')
              : html`<p class="field-hint" id="register-name-hint">We greet you by it in our e-mails.</p>`
          }
        </div>
        ${emailField('register-email', email, errors)}
        <div class="field">
          <label for="register-password">Password</label>
          <input
            id="register-password"
            type="password"
            name="password"
            autocomplete="new-password"
            minlength="8"
            maxlength="128"
            required
            ${fieldState(errors, 'register-password', passwordError ? undefined : 'register-password-hint')}
          />
          ${
            passwordError
              ? fieldError(errors, 'register-password')
              : html`<p class="field-hint" id="register-password-hint">At least 8 characters.</p>`
          }
        </div>
        <button type="submit" class="block">Register</button>
      </form>
      <p class="muted form-footer">Already have an account? <a href="/auth/log-in">Log in</a></p>
    </div>`,
  };
}

type RegistrationOutcome = Awaited<ReturnType<typeof findRegistrationOutcome>>;

/** Identity's reasons, in words for the user. */
const rejectionMessages: Record<string, string> = {
  'email already registered': 'That e-mail address is already registered. Log in instead.',
};

/**
 * How identity answered a registration, as far as View Data knows (`null`: not yet), and whether the link named
 * one (the page then says its status may come in a moment).
 */
export function registrationStatusPage({
  outcome,
  named,
}: {
  outcome: RegistrationOutcome | null;
  named: boolean;
}): PageOptions {
  if (outcome?.outcome === 'rejected')
    return {
      title: 'Registration rejected',
      body: html`<div class="card narrow">
        <h1>We could not register you</h1>
        <div class="alert error" role="alert" data-testid="registration-rejected">
          ${rejectionMessages[outcome.reason ?? ''] ?? outcome.reason ?? 'Your registration was rejected.'}
        </div>
        <div class="actions"><a class="button" href="/register">Try again</a></div>
      </div>`,
    };
  return {
    title: 'Registration complete',
    body: html`<div class="card narrow">
      <h1>Welcome aboard</h1>
      <div class="alert ok">
        ${
          outcome?.outcome === 'registered'
            ? 'You are registered. We are sending you an e-mail to confirm your address.'
            : 'Your registration is on its way. We are sending you a confirmation e-mail.'
        }
      </div>
      ${outcome === null && named ? html`<p class="muted">Reload this page in a moment to see that it went through.</p>` : ''}
      <div class="actions"><a class="button" href="/auth/log-in">Log in</a></div>
    </div>`,
  };
}
