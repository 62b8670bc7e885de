import { html, type SafeHtml } from '../html.js';

/** What is wrong with a form that came back: the message, and the id of the field it is about, if it is about one. */
export interface FormError {
  message: string;
  /** The `id` of the field; none when the error is about the form as a whole (an account locked, a quota…). */
  field?: string;
}

/**
 * The errors of a form that came back, above it: a list, each error linking to its field. It takes the focus when
 * the page loads — the `autofocus` attribute on a container made focusable by `tabindex="-1"`, no script (the CSP
 * allows none inline) — so a screen reader reads it first and the next Tab goes into the form. Its inner
 * `role="alert"` announces it even where the focus stays elsewhere.
 */
export function errorSummary(errors: readonly FormError[]): SafeHtml {
  if (errors.length === 0) return html``;
  return html`<div class="error-summary" tabindex="-1" autofocus data-testid="error-summary">
    <div role="alert">
      <h2 class="error-summary-title">There is a problem</h2>
      <ul class="error-summary-list">
        ${errors.map(
          ({ message, field }) => html`<li>${field ? html`<a href="#${field}">${message}</a>` : message}</li>`,
        )}
      </ul>
    </div>
  </div>`;
}

/** The page's title, saying first that there is a problem when there is one (it is what a screen reader reads first). */
export const titleWithErrors = (title: string, errors: readonly FormError[]) =>
  errors.length > 0 ? `Error: ${title}` : title;

/** The message about field `id`, shown beside it (its id is `${id}-error`), if there is one. */
export function fieldError(errors: readonly FormError[], id: string): SafeHtml {
  const error = errors.find((candidate) => candidate.field === id);
  return error ? html`<p class="field-error" id="${id}-error">${error.message}</p>` : html``;
}

/**
 * What the input `id` says about its error: `aria-invalid="true"` and `aria-describedby` naming the message beside
 * it (and its hint, if it has one); without an error, `aria-describedby` naming its hint.
 */
export function fieldState(errors: readonly FormError[], id: string, hintId?: string): SafeHtml {
  const invalid = errors.some((error) => error.field === id);
  const describedBy = [invalid ? `${id}-error` : '', hintId ?? ''].filter(Boolean).join(' ');
  return html`${invalid ? html`aria-invalid="true"` : ''} ${describedBy ? html`aria-describedby="${describedBy}"` : ''}`;
}

/** The e-mail address field `id` of a form (`name="email"`), holding `email` as typed, with its error if any. */
export function emailField(id: string, email: string, errors: readonly FormError[]): SafeHtml {
  return html`<div class="field">
    <label for="${id}">E-mail</label>
    <input
      id="${id}"
      type="email"
      name="email"
      value="${email}"
      autocomplete="email"
      inputmode="email"
      spellcheck="false"
      maxlength="254"
      required
      ${fieldState(errors, id)}
    />
    ${fieldError(errors, id)}
  </div>`;
}
