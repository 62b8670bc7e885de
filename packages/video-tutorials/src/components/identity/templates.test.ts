import { describe, expect, it } from 'vitest';
import { createEmailTemplates } from './templates.js';

describe('the registration e-mail', () => {
  it('names the application and greets the user, in text and HTML', () => {
    const email = createEmailTemplates({ appName: 'Video Tutorials' }).registration({ email: 'ada@example.com' });
    expect(email.subject).toBe('Welcome to Video Tutorials');
    expect(email.text).toContain('Hello ada@example.com,');
    expect(email.text).toContain('welcome to Video Tutorials!');
    expect(email.html).toContain('<p>Hello ada@example.com,</p>');
    expect(email.html).toContain('<strong>Video Tutorials</strong>');
  });

  it('escapes what it interpolates into HTML, not into text', () => {
    const email = createEmailTemplates({ appName: 'Tom & <Jerry>' }).registration({ email: "o'brien@example.com" });
    expect(email.html).toContain('Tom &amp; &lt;Jerry&gt;');
    expect(email.html).toContain('Hello o&#39;brien@example.com,');
    expect(email.html).not.toContain('<Jerry>');
    expect(email.text).toContain("Hello o'brien@example.com,");
    expect(email.subject).toBe('Welcome to Tom & <Jerry>');
  });

  it('defaults the application name to Video Tutorials', () => {
    expect(createEmailTemplates().registration({ email: 'ada@example.com' }).subject).toBe(
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
