import { html, type SafeHtml } from '../html.js';

export interface PageContext {
  appName: string;
  /** The signed-in user, if any. */
  user: { userId: string; email: string; emailConfirmed?: boolean } | null;
  /** Whether the user has the admin role: only admins see the admin portal's link. */
  isAdmin: boolean;
  csrfToken: string;
  currentPath: string;
}

export interface PageOptions {
  title: string;
  body: SafeHtml;
  /** Extra elements for the head, e.g. a page's script or its Open Graph tags. */
  head?: SafeHtml;
  /** The page's `<meta name="description">`; the site's default (`defaultDescription`) without it. */
  description?: string;
}

/** What a page without a description of its own says about itself. */
export const defaultDescription = (appName: string) =>
  `${appName}: short video tutorials. Watch and learn, or upload your own.`;

/** Text shortened for a meta description: whitespace collapsed, at most `max` characters, cut between words. */
export function summarize(text: string, max = 160): string {
  const collapsed = text.replace(/\s+/g, ' ').trim();
  const characters = Array.from(collapsed); // by code point: an emoji is never cut in half
  if (characters.length <= max) return collapsed;
  const cut = characters.slice(0, max - 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s.,;:!?-]+$/, '')}…`;
}

/** The shared layout: head (description, favicon, styles), navigation, main content, footer. */
export function layout(context: PageContext, { title, body, head, description }: PageOptions): SafeHtml {
  const link = (href: string, label: string, extraClass = '') => {
    const current = context.currentPath === href;
    return html`<a
      href="${href}"
      class="${['nav-link', extraClass, current ? 'active' : ''].filter(Boolean).join(' ')}"
      ${current ? html` aria-current="page"` : ''}
      >${label}</a
    >`;
  };
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="description" content="${description || defaultDescription(context.appName)}" />
        <meta name="color-scheme" content="light" />
        <meta name="theme-color" content="#ffffff" />
        <title>${title} · ${context.appName}</title>
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
        <link rel="stylesheet" href="/assets/site.css" />
        ${head ?? ''}
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to main content</a>
        <header class="site-header">
          <div class="container site-header-inner">
            <a class="brand" href="/"><span class="brand-mark" aria-hidden="true"></span>${context.appName}</a>
            <form class="site-search" method="get" action="/search" role="search" aria-label="Site">
              <label class="visually-hidden" for="site-search">Search tutorials</label>
              <input id="site-search" type="search" name="q" maxlength="200" placeholder="Search tutorials" />
              <button type="submit" class="button small secondary">Search</button>
            </form>
            ${
              context.user
                ? html`<p class="who" title="Signed in as ${context.user.email}">
                    Signed in as <strong>${context.user.email}</strong>
                  </p>`
                : ''
            }
            <nav class="site-nav" aria-label="Main">
              ${link('/', 'Home', 'nav-home')} ${link('/videos', 'Tutorials')} ${link('/creators-portal', 'Creators')}
              ${context.user ? link('/account', 'Account') : ''} ${context.isAdmin ? link('/admin', 'Admin') : ''}
              ${
                context.user
                  ? html`<form method="post" action="/auth/log-out" class="inline">
                      <input type="hidden" name="_csrf" value="${context.csrfToken}" />
                      <button type="submit" class="button small secondary">Log out</button>
                    </form>`
                  : html`${link('/auth/log-in', 'Log in')}
                      <a
                        class="button small"
                        href="/register"
                        ${context.currentPath === '/register' ? html` aria-current="page"` : ''}
                        >Register</a
                      >`
              }
            </nav>
          </div>
        </header>
        <main id="main" class="container">
          ${context.user && context.user.emailConfirmed === false ? unconfirmedNotice(context.csrfToken) : ''}${body}
        </main>
        <footer class="site-footer">
          <div class="container site-footer-inner">
            <span class="footer-brand">${context.appName}</span>
            <span>Built on Message DB, the book’s way.</span>
          </div>
        </footer>
      </body>
    </html>`;
}

/** For a signed-in user whose address is not confirmed yet: what to do, and the link sent again. */
function unconfirmedNotice(csrfToken: string) {
  return html`<div class="alert" role="status" data-testid="unconfirmed-notice">
    Please confirm your e-mail address with the link we sent you.
    <form method="post" action="/auth/confirmation-email" class="inline">
      <input type="hidden" name="_csrf" value="${csrfToken}" />
      <button type="submit" class="button small secondary">Send it again</button>
    </form>
  </div>`;
}
