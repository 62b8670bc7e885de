import { html, type SafeHtml } from '../../html.js';

/** An e-mail ready for a `Send` command. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The e-mails identity asks send-email to send. Replaceable, e.g. to brand them or to test with. */
export interface EmailTemplates {
  /**
   * The welcome e-mail: greets by `displayName` when the user gave one (neutrally otherwise), links to the site
   * (`siteUrl`, `APP_URL`) and, with `confirmationUrl`, asks to confirm the address under "Security".
   */
  registration(recipient: {
    email: string;
    displayName?: string | undefined;
    siteUrl: string;
    confirmationUrl?: string;
  }): RenderedEmail;
  /** Asked for again: only the confirmation link. */
  emailConfirmation(recipient: { email: string; confirmationUrl: string }): RenderedEmail;
  /** The account was locked after failed log-ins: until when, and a link for the owner to unlock it now. */
  accountLocked(recipient: { email: string; unlockUrl: string; lockedUntil: string }): RenderedEmail;
  /** Someone asked to reset the password: the link to choose a new one, and until when it works. */
  passwordReset(recipient: { email: string; resetUrl: string; expiresAt: string }): RenderedEmail;
}

/** The default templates: plain text and HTML, naming the application (`APP_NAME`) and greeting the user. */
export function createEmailTemplates({ appName = 'Video Tutorials' }: { appName?: string } = {}): EmailTemplates {
  return {
    registration({ email, displayName, siteUrl, confirmationUrl }) {
      const subject = `Welcome to ${appName}`;
      const welcome = displayName ? `Welcome, ${displayName}!` : 'Welcome!';
      const text = [
        welcome,
        '',
        `Your ${appName} account is ready: log in with this address (${email}) and start watching at`,
        siteUrl,
        ...(confirmationUrl
          ? [
              '',
              'Security: please confirm that this address is yours, so that only you can use the account:',
              confirmationUrl,
            ]
          : []),
        '',
        'If you did not create this account, you can ignore this e-mail.',
        '',
        `The ${appName} team`,
        '',
      ].join('\n');
      // `html` escapes every interpolated value.
      const body = emailPage(
        subject,
        html`<p>${welcome}</p>
          <p>
            Your <strong>${appName}</strong> account is ready: log in with this address (${email}) and
            <a href="${siteUrl}">start watching</a>.
          </p>
          ${
            confirmationUrl
              ? html`<p>
                  <strong>Security:</strong> please <a href="${confirmationUrl}">confirm that this address is yours</a>,
                  so that only you can use the account.
                </p>`
              : ''
          }
          <p>If you did not create this account, you can ignore this e-mail.</p>
          <p>The ${appName} team</p>`,
      );
      return { subject, text, html: body };
    },
    accountLocked({ email, unlockUrl, lockedUntil }) {
      const subject = `Your ${appName} account was locked`;
      const until = lockedUntil.replace('T', ' ').slice(0, 16) + ' UTC';
      const text = [
        `Hello ${email},`,
        '',
        `after several failed log-ins your account is locked until ${until}.`,
        'If that was you, unlock it now with this link:',
        unlockUrl,
        '',
        `If it was not you, someone may be guessing your password. The ${appName} team`,
        '',
      ].join('\n');
      const body = emailPage(
        subject,
        html`<p>Hello ${email},</p>
          <p>after several failed log-ins your account is locked until ${until}.</p>
          <p>If that was you, <a href="${unlockUrl}">unlock it now</a>.</p>
          <p>If it was not you, someone may be guessing your password. The ${appName} team</p>`,
      );
      return { subject, text, html: body };
    },
    emailConfirmation({ email, confirmationUrl }) {
      const subject = `Confirm your address for ${appName}`;
      const text = [
        `Hello ${email},`,
        '',
        'Please confirm that this address is yours:',
        confirmationUrl,
        '',
        `If you did not ask for this, ignore this e-mail. The ${appName} team`,
        '',
      ].join('\n');
      const body = emailPage(
        subject,
        html`<p>Hello ${email},</p>
          <p>Please <a href="${confirmationUrl}">confirm that this address is yours</a>.</p>
          <p>If you did not ask for this, ignore this e-mail. The ${appName} team</p>`,
      );
      return { subject, text, html: body };
    },
    passwordReset({ email, resetUrl, expiresAt }) {
      const subject = `Reset your ${appName} password`;
      const until = expiresAt.replace('T', ' ').slice(0, 16) + ' UTC';
      const text = [
        `Hello ${email},`,
        '',
        `someone asked to reset the password of your account. Choose a new one with this link (it works once, until ${until}):`,
        resetUrl,
        '',
        `If you did not ask for this, ignore this e-mail: your password stays as it is. The ${appName} team`,
        '',
      ].join('\n');
      const body = emailPage(
        subject,
        html`<p>Hello ${email},</p>
          <p>
            someone asked to reset the password of your account.
            <a href="${resetUrl}">Choose a new one</a> (the link works once, until ${until}).
          </p>
          <p>If you did not ask for this, ignore this e-mail: your password stays as it is. The ${appName} team</p>`,
      );
      return { subject, text, html: body };
    },
  };
}

/** The HTML document around an e-mail's body. */
function emailPage(subject: string, body: SafeHtml): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${subject}</title>
      </head>
      <body style="font-family: system-ui, sans-serif; line-height: 1.5">
        ${body}
      </body>
    </html> `.value;
}
