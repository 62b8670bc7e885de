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
