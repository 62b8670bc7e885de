import { html, type SafeHtml } from './html.js';

export interface PageContext {
  appName: string;
  /** The signed-in user, if any. */
  user: { userId: string; email: string } | null;
  csrfToken: string;
  currentPath: string;
}

export interface PageOptions {
  title: string;
  body: SafeHtml;
}

/** The shared layout: navigation, main content, footer. */
export function layout(context: PageContext, { title, body }: PageOptions): SafeHtml {
  const link = (href: string, label: string) =>
    html`<a href="${href}" class="${context.currentPath === href ? 'active' : ''}">${label}</a>`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · ${context.appName}</title>
        <link rel="stylesheet" href="/assets/site.css" />
      </head>
      <body>
        <header class="site-header">
          <a class="brand" href="/">▶ ${context.appName}</a>
          <nav>
            ${link('/', 'Home')}
            ${
              context.user
                ? html`<span class="who">${context.user.email}</span>
                    <form method="post" action="/auth/log-out" class="inline">
                      <input type="hidden" name="_csrf" value="${context.csrfToken}" />
                      <button type="submit" class="link">Log out</button>
                    </form>`
                : html`${link('/auth/log-in', 'Log in')} <a class="button small" href="/register">Register</a>`
            }
          </nav>
        </header>
        <main>${body}</main>
        <footer class="site-footer">${context.appName} — built on Message DB, the book’s way.</footer>
      </body>
    </html>`;
}

/** Field-level error messages, shown beside the fields. */
export function fieldError(errors: Record<string, string | undefined>, field: string) {
  const message = errors[field];
  return message ? html`<p class="field-error" id="${field}-error">${message}</p>` : html``;
}
