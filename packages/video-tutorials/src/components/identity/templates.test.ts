import { describe, expect, it } from 'vitest';
import { createEmailTemplates } from './templates.js';

const SITE = 'https://videos.example.com/';

describe('the registration e-mail', () => {
  it('welcomes by name, links to the site and, after "Security", carries the confirmation link', () => {
    const email = createEmailTemplates({ appName: 'Video Tutorials' }).registration({
      email: 'ada@example.com',
      displayName: 'Ada Lovelace',
      siteUrl: SITE,
      confirmationUrl: 'https://videos.example.com/auth/confirm-email?userId=u&token=t',
    });
    expect(email.subject).toBe('Welcome to Video Tutorials');
    expect(email.text.split('\n')[0]).toBe('Welcome, Ada Lovelace!');
    expect(email.text).toContain('log in with this address (ada@example.com)');
    expect(email.text).toContain(SITE);
    const security = email.text.indexOf('Security:');
    expect(security).toBeGreaterThan(email.text.indexOf(SITE));
    expect(email.text.indexOf('https://videos.example.com/auth/confirm-email?userId=u&token=t')).toBeGreaterThan(
      security,
    );
    expect(email.html).toContain('<p>Welcome, Ada Lovelace!</p>');
    expect(email.html).toContain(`<a href="${SITE}">`);
    expect(email.html).toContain('<strong>Security:</strong>');
    expect(email.html).toContain('href="https://videos.example.com/auth/confirm-email?userId=u&amp;token=t"');
    expect(email.html).toContain('<strong>Video Tutorials</strong>');
  });

  it('greets neutrally without a name (a registration written by the book has none)', () => {
    const email = createEmailTemplates().registration({ email: 'ada@example.com', siteUrl: SITE });
    expect(email.text.split('\n')[0]).toBe('Welcome!');
    expect(email.html).toContain('<p>Welcome!</p>');
    expect(email.text).not.toContain('Security:');
    expect(email.text).toContain(SITE);
  });

  it('escapes what it interpolates into HTML, not into text', () => {
    const email = createEmailTemplates({ appName: 'Tom & <Jerry>' }).registration({
      email: "o'brien@example.com",
      displayName: '<script>alert("Bobby")</script> & co',
      siteUrl: 'https://videos.example.com/?a=1&b="2"',
    });
    expect(email.html).toContain('Tom &amp; &lt;Jerry&gt;');
    expect(email.html).toContain('(o&#39;brien@example.com)');
    expect(email.html).toContain('Welcome, &lt;script&gt;alert(&quot;Bobby&quot;)&lt;/script&gt; &amp; co!');
    expect(email.html).toContain('href="https://videos.example.com/?a=1&amp;b=&quot;2&quot;"');
    expect(email.html).not.toContain('<Jerry>');
    expect(email.html).not.toContain('<script>');
    expect(email.text).toContain('Welcome, <script>alert("Bobby")</script> & co!');
    expect(email.text).toContain("(o'brien@example.com)");
    expect(email.subject).toBe('Welcome to Tom & <Jerry>');
  });

  it('defaults the application name to Video Tutorials', () => {
    expect(createEmailTemplates().registration({ email: 'ada@example.com', siteUrl: SITE }).subject).toBe(
      'Welcome to Video Tutorials',
    );
  });
});

describe('the password reset e-mail', () => {
  it('carries the link and until when it works, and escapes what it interpolates into HTML', () => {
    const email = createEmailTemplates({ appName: 'Tom & <Jerry>' }).passwordReset({
      email: "o'brien@example.com",
      resetUrl: 'https://videos.example.com/auth/reset-password?userId=u&token=t',
      expiresAt: '2026-01-01T13:00:00.000Z',
    });
    expect(email.subject).toBe('Reset your Tom & <Jerry> password');
    expect(email.text).toContain('https://videos.example.com/auth/reset-password?userId=u&token=t');
    expect(email.text).toContain('until 2026-01-01 13:00 UTC');
    expect(email.html).toContain('href="https://videos.example.com/auth/reset-password?userId=u&amp;token=t"');
    expect(email.html).toContain('Hello o&#39;brien@example.com,');
    expect(email.html).not.toContain('<Jerry>');
  });
});
