import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_VIDEO_ID } from './app/home/index.js';
import { identityStreamName, PasswordChanged } from './contracts/identity.js';
import { VideoNamed, VideoPublished, videoPublishingStreamName } from './contracts/video-publishing.js';
import { hashPassword } from './passwords.js';
import { startRunningSystem, type RunningSystem } from './security/running-system.js';
import { browserSession } from './test-support/browser-session.js';

/**
 * The web server keeps sessions (SESSION_CACHE_MS) and the home page's View Data (HOME_PAGE_CACHE_MS) a short
 * while. In a process that also runs the aggregators, what they commit shows at the very next request, and a
 * log-out counts at once: each request below comes right after the change, well within those times.
 */

const PASSWORD = 'words of the web caches test';
const signedInAs = (body: string, email: string) => body.includes(`Signed in as <strong>${email}</strong>`);
const viewsOf = (body: string) => Number(/data-testid="videos-watched">(\d+)</.exec(body)?.[1]);

describe('the web server’s caches, in a process that runs the aggregators', () => {
  let running: RunningSystem;
  beforeAll(async () => {
    running = await startRunningSystem(
      {},
      {
        web: true,
        workers: ['identity', 'user-credentials-aggregator', 'home-page-aggregator', 'catalogue-aggregator'],
      },
    );
  }, 180_000);
  afterAll(() => running?.stop());

  const signedIn = async () => {
    const email = `cached-${randomUUID().slice(0, 8)}@example.com`;
    const userId = await running.register(email, PASSWORD);
    const { browser } = await running.logIn(email, PASSWORD);
    // A second browser with the same cookies: the one a thief would hold, or the user's other tab.
    const copy = browserSession(running.system.web!, { remoteAddress: '203.0.113.7' });
    for (const [name, value] of browser.cookies) copy.cookies.set(name, value);
    expect(signedInAs((await copy.get('/')).body, email)).toBe(true);
    return { email, userId, browser, copy };
  };

  it('a viewing shows on the home page at the next request once its aggregator has applied it', async () => {
    const visitor = browserSession(running.system.web!);
    const before = viewsOf((await visitor.get('/')).body);
    expect((await visitor.post(`/record-viewing/${SAMPLE_VIDEO_ID}`)).statusCode).toBe(303);
    await running.caughtUp();
    expect(viewsOf((await visitor.get('/')).body)).toBe(before + 1);
  });

  /** A video published as the book's video-publishing wrote it: published, then named. */
  const publish = async (name: string) => {
    const videoId = randomUUID();
    const stream = videoPublishingStreamName(videoId);
    await running.system.store.write(
      stream,
      VideoPublished.create({
        ownerId: randomUUID(),
        sourceUri: `storage:uploads/${videoId}.mp4`,
        transcodedUri: `storage:transcoded/${videoId}.mp4`,
        videoId,
      }),
    );
    await running.system.store.write(stream, VideoNamed.create({ name }));
  };

  it('a published video shows on the home page at the next request once the catalogue has it', async () => {
    const visitor = browserSession(running.system.web!);
    const name = `Freshly published ${randomUUID().slice(0, 8)}`;
    expect((await visitor.get('/')).body).not.toContain(name);
    await publish(name);
    await running.caughtUp();
    expect((await visitor.get('/')).body).toContain(name);
  });

  it('the home page rendered once for visitors who are not signed in never reaches a signed-in one, nor back', async () => {
    await publish(`Shared page ${randomUUID().slice(0, 8)}`);
    await running.caughtUp();
    const visitor = browserSession(running.system.web!);
    const first = (await visitor.get('/')).body;
    const { email, browser } = await signedIn();
    const theirs = (await browser.get('/')).body;
    const again = (await visitor.get('/')).body;
    expect(again).toBe(first);
    expect(first).not.toContain('Signed in as');
    expect(signedInAs(theirs, email)).toBe(true);
    expect(signedInAs((await browser.get('/')).body, email)).toBe(true);
  });

  it('a log-out counts at the very next request, for a cookie copied while the session was kept', async () => {
    const { email, browser, copy } = await signedIn();
    expect(signedInAs((await copy.get('/')).body, email)).toBe(true);
    expect((await browser.post('/auth/log-out')).statusCode).toBe(303);
    expect(signedInAs((await copy.get('/')).body, email)).toBe(false);
  });

  it('a password change ends the kept session at the next request once the credentials have it', async () => {
    const { email, userId, copy } = await signedIn();
    // What identity records when the password is changed: every session started before it ends.
    await running.system.store.write(
      identityStreamName(userId),
      PasswordChanged.create({ userId, passwordHash: await hashPassword('a new password'), reason: 'change' }),
    );
    await running.caughtUp();
    expect(signedInAs((await copy.get('/')).body, email)).toBe(false);
  });
});
