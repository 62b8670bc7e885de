import { html } from '../html.js';
import type { PageOptions } from './layout.js';

/** The pages the web server answers with itself: nothing at an address, a refusal, an error. */

/** Nothing at `path` (the address without its query). */
export function notFoundPage({ path }: { path: string }): PageOptions {
  return {
    title: 'Not found',
    body: html`<div class="card narrow">
      <h1>Page not found</h1>
      <p class="muted">There is nothing at ${path}.</p>
      <a class="button" href="/">Go home</a>
    </div>`,
  };
}

/**
 * The database cannot be reached for now: `message` says so, `traceId` is the request's reference and `retry`,
 * for a page that was only read, offers to load it again (a form is not sent again behind the user's back).
 */
export function backInAMomentPage({
  message,
  traceId,
  retry,
}: {
  message: string;
  traceId: string;
  retry: boolean;
}): PageOptions {
  return {
    title: 'Back in a moment',
    body: html`<div class="card narrow">
      <h1>Back in a moment</h1>
      <div class="alert error" role="alert">${message}</div>
      <p class="muted">Reference: <code class="reference">${traceId}</code></p>
      ${retry ? html`<a class="button" href="">Try again</a>` : html`<a class="button" href="/">Go home</a>`}
    </div>`,
  };
}

/** A request that failed: ours (`ourFault`, a 5xx) or refused (`message` says why), with its reference. */
export function errorPage({
  ourFault,
  message,
  traceId,
}: {
  ourFault: boolean;
  message: string;
  traceId: string;
}): PageOptions {
  return {
    title: ourFault ? 'Error' : 'Cannot do that',
    body: html`<div class="card narrow">
      <h1>${ourFault ? 'Something went wrong' : 'We could not do that'}</h1>
      <div class="alert error" role="alert">${message}</div>
      <p class="muted">Reference: <code class="reference">${traceId}</code></p>
      <a class="button" href="/">Go home</a>
    </div>`,
  };
}

/** For a signed-in user who is not an admin: whose account this is, and whether its address is confirmed. */
export function adminsOnlyPage({ email, emailConfirmed }: { email: string; emailConfirmed: boolean }): PageOptions {
  return {
    title: 'Admins only',
    body: html`<div class="card narrow">
      <h1>Admins only</h1>
      <div class="alert error" role="alert">This part of the site is for administrators.</div>
      <p class="muted">
        You are signed in as ${email}, which is not an administrator’s
        account${emailConfirmed ? '' : ' (or not confirmed yet)'}.
      </p>
      <a class="button" href="/">Go home</a>
    </div>`,
  };
}
