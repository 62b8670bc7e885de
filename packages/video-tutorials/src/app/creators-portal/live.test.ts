import { randomUUID } from 'node:crypto';
import type { Queryable } from 'message-db-toolkit';
import { eventually } from 'message-db-toolkit/controls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyOperationOutcomes } from '../../aggregators/video-operations/index.js';
import * as videoPublishing from '../../components/video-publishing/index.js';
import {
  VIDEO_DESCRIPTION_MAX_LENGTH,
  VIDEO_NAME_MAX_LENGTH,
  videoPublishingCommandStreamName,
  videoPublishingStreamName,
} from '../../contracts/video-publishing.js';
import { startWebUnderAttack, type WebUnderAttack } from '../../security/harness.js';
import { elementWithId, errorSummaryOf } from '../../test-support/page-checks.js';
import { asSentence, MAX_LIVE_STREAMS_PER_USER, type LiveVideo, type Outcome } from './live.js';

/**
 * A video's page kept up to date: its event stream (owner only, limited per user), the same state asked for once
 * (`/status`), and its forms sent without JavaScript, which come back with what was typed.
 */
let web: WebUnderAttack;
let baseUrl: string;
beforeAll(async () => {
  web = await startWebUnderAttack();
  await web.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(web.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await web?.close();
});

/** A signed-in user, each from an address of their own (log-ins are limited per address). */
let addresses = 0;
const aUser = () => web.browser('user', `10.0.${Math.floor(++addresses / 250)}.${addresses % 250}`);

type Browser = Awaited<ReturnType<WebUnderAttack['browser']>>;
interface ServerEvent {
  event: string;
  data: unknown;
}

/** An event stream read over real HTTP, its events collected as they arrive. */
async function openStream(browser: Browser, path: string) {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}${path}`, {
    headers: { cookie: browser.cookieHeader(), accept: 'text/event-stream' },
    signal: abort.signal,
    redirect: 'manual',
  });
  const events: ServerEvent[] = [];
  // The server ends each look at View Data with a comment: how many looks it has finished.
  let looks = 0;
  const reading = (async () => {
    if (!response.body || response.status !== 200) return;
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffered.indexOf('\n\n')) >= 0) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          if (block === ': waiting') looks++;
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) as unknown });
        }
      }
    } catch {
      // aborted by the test
    }
  })();
  return {
    response,
    events,
    /** The first `event` whose data matches (a `video` event's data is the page's state, `LiveVideo`). */
    async next<T = LiveVideo>(event: string, matching: (data: T) => boolean = () => true, timeoutMs = 5_000) {
      const found = await eventually(
        () => events.find((candidate) => candidate.event === event && matching(candidate.data as T)),
        { timeoutMs, intervalMs: 50 },
      ).catch(() => {
        throw new Error(`no ${event} event in ${timeoutMs} ms: ${JSON.stringify(events)}`);
      });
      return found.data as T;
    },
    /** Resolves once the server has finished a whole look at View Data begun after the call. */
    async lookedAgain() {
      const finished = looks;
      await eventually(() => looks >= finished + 2, { what: 'a whole look at View Data' });
    },
    async close() {
      abort.abort();
      await reading;
    },
  };
}

describe('a video’s event stream', () => {
  it('sends its owner the page’s parts, and again as View Data changes', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId, { status: 'processing' });
    const stream = await openStream(owner, `/creators-portal/videos/${videoId}/events`);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const first = await stream.next('video');
    expect(first).toMatchObject({ status: 'processing', title: 'Untitled video' });
    expect(first.parts.media!.html).toContain('We are transcoding your video');
    // The page carries the same parts, with the same hashes: the script replaces nothing until they change.
    const page = await owner.get(`/creators-portal/videos/${videoId}`);
    for (const [name, part] of Object.entries(first.parts))
      expect(page.body).toContain(`data-live-part="${name}" data-live-hash="${part.hash}"`);

    await web.viewData.query(
      `UPDATE creators_portal_videos SET status = 'published', name = $2, transcoded_uri = $3 WHERE id = $1`,
      [videoId, 'Streams <b>and</b> views', web.storage.uriOf(`transcoded/${videoId}.mp4`)],
    );
    const published = await stream.next('video', (data) => data.status === 'published');
    expect(published.title).toBe('Streams <b>and</b> views');
    expect(published.parts.heading!.html).toContain('<h1>Streams &lt;b&gt;and&lt;/b&gt; views</h1>');
    expect(published.parts.media!.html).toContain(`src="/media/videos/${videoId}"`);
    expect(published.parts.heading!.hash).not.toBe(first.parts.heading!.hash);
    await stream.close();
  });

  it('sends the outcome of the naming it awaits, as a sentence, once it is in View Data', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    const traceId = randomUUID();
    const stream = await openStream(owner, `/creators-portal/videos/${videoId}/events?awaiting=${traceId}`);
    await stream.next('video');
    expect(stream.events.filter((event) => event.event === 'outcome')).toEqual([]);
    await web.viewData.query(
      `INSERT INTO video_operations (trace_id, video_id, user_id, succeeded, failure_reason, completed_at)
       VALUES ($1, $2, $3, false, 'name is blank', now())`,
      [traceId, videoId, owner.user!.userId],
    );
    expect(await stream.next<Outcome>('outcome')).toEqual({ traceId, succeeded: false, message: 'Name is blank.' });
    await stream.lookedAgain();
    expect(stream.events.filter((event) => event.event === 'outcome')).toHaveLength(1); // once
    await stream.close();
  });

  it('sends no outcome of another user’s request, nor of a request about another video', async () => {
    const owner = await aUser();
    const other = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    const { videoId: otherVideo } = await web.addVideo(owner.user!.userId);
    const [theirs, elsewhere] = [randomUUID(), randomUUID()];
    await web.viewData.query(
      `INSERT INTO video_operations (trace_id, video_id, user_id, succeeded, failure_reason, completed_at)
       VALUES ($1, $2, $3, true, null, now()), ($4, $5, $6, true, null, now())`,
      [theirs, videoId, other.user!.userId, elsewhere, otherVideo, owner.user!.userId],
    );
    const stream = await openStream(
      owner,
      `/creators-portal/videos/${videoId}/events?awaiting=${theirs}&awaiting=${elsewhere}&awaiting=not-a-uuid`,
    );
    await stream.next('video');
    await stream.lookedAgain();
    expect(stream.events.filter((event) => event.event === 'outcome')).toEqual([]);
    await stream.close();
  });

  it('is its owner’s only: another user’s video, however its id is written, is not found; anonymous users log in', async () => {
    const owner = await aUser();
    const stranger = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    const encoded = [...videoId].map((char) => `%${char.charCodeAt(0).toString(16)}`).join('');
    for (const id of [videoId, videoId.toUpperCase(), encoded, `${videoId}%00`, `${videoId}%0a`, 'not-a-video'])
      for (const path of [`/creators-portal/videos/${id}/events`, `/creators-portal/videos/${id}/status`]) {
        const response = await stranger.get(path);
        // Not found (the status: as absent as a video not there); a NUL character is refused at the door (400).
        const absent = path.endsWith('/status') && response.statusCode === 200;
        expect({ path, status: absent ? (JSON.parse(response.body) as unknown) : response.statusCode }).toEqual({
          path,
          status: absent ? { status: 'absent' } : id.endsWith('%00') ? 400 : 404,
        });
      }
    const anonymous = await web.browser('anonymous');
    const refused = await anonymous.get(`/creators-portal/videos/${videoId}/events`);
    expect(refused.statusCode).toBe(302);
    expect(refused.headers.location).toMatch(/^\/auth\/log-in\?returnTo=/);
    // The owner, with the id in capitals or percent-encoded, is let in.
    for (const id of [videoId.toUpperCase(), encoded]) {
      const stream = await openStream(owner, `/creators-portal/videos/${id}/events`);
      expect((await stream.next('video')).status).toBe('published');
      await stream.close();
    }
  });

  it('is limited per user: one stream too many is refused with 429, and a closed one frees its place', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    const path = `/creators-portal/videos/${videoId}/events`;
    const streams = [];
    for (let count = 0; count < MAX_LIVE_STREAMS_PER_USER; count++) {
      const stream = await openStream(owner, path);
      await stream.next('video');
      streams.push(stream);
    }
    const refused = await openStream(owner, path);
    expect(refused.response.status).toBe(429);
    expect(refused.response.headers.get('retry-after')).toBe('30');
    await refused.close();
    // Another user is not held back by this one's streams.
    const other = await aUser();
    const { videoId: theirs } = await web.addVideo(other.user!.userId);
    const theirStream = await openStream(other, `/creators-portal/videos/${theirs}/events`);
    expect(theirStream.response.status).toBe(200);
    await theirStream.close();

    await streams.pop()!.close();
    // The server sees the stream go a moment later: ask until it has.
    const opened: Awaited<ReturnType<typeof openStream>>[] = [];
    await expect
      .poll(async () => {
        const stream = await openStream(owner, path);
        opened.push(stream);
        return stream.response.status;
      })
      .toBe(200);
    for (const stream of opened) await stream.close();
    for (const stream of streams) await stream.close();
  });

  it('ends when View Data keeps failing; a lost connection for a moment is asked again', async () => {
    // View Data that fails as a lost connection does, while told to.
    let failing = false;
    let failed = 0;
    const lost = () => {
      failed++;
      return Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' });
    };
    const viewData: Queryable = {
      query: (text, params) => (failing ? Promise.reject(lost()) : web.test.db.query(text, params)),
      exec: (text) => (failing ? Promise.reject(lost()) : web.test.db.exec(text)),
    };
    const { app, browser, user } = await web.portalOn(viewData);
    const { videoId } = await web.addVideo(user.userId);
    const stream = app.inject({
      url: `/creators-portal/videos/${videoId}/events`,
      headers: { cookie: browser.cookieHeader() },
    });
    const ended = () =>
      Promise.race([
        stream.then(() => 'ended'),
        new Promise((resolve) => setTimeout(() => resolve('still open'), 1_500)),
      ]);
    // No signal: an injected request answers only once its stream has ended.
    await new Promise((resolve) => setTimeout(resolve, 300));
    failing = true; // for a moment: a look or two fail
    await eventually(() => failed >= 2, { what: 'looks that failed' });
    failing = false;
    expect(await ended()).toBe('still open');
    failing = true; // for good
    await expect.poll(ended, { timeout: 10_000 }).toBe('ended');
    expect((await stream).body).toContain('event: video');
    failing = false;
    await app.close();
  });

  it('ends when the server closes', async () => {
    const other = await startWebUnderAttack();
    await other.app.listen({ port: 0, host: '127.0.0.1' });
    const owner = await other.browser('user');
    const { videoId } = await other.addVideo(owner.user!.userId);
    const response = await fetch(
      `http://127.0.0.1:${(other.app.server.address() as AddressInfo).port}/creators-portal/videos/${videoId}/events`,
      { headers: { cookie: owner.cookieHeader() } },
    );
    expect(response.status).toBe(200);
    // The body as it arrives: the server is closed once the stream has sent its first look.
    let arrived = '';
    const body = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of response.body!) arrived += decoder.decode(chunk as Uint8Array, { stream: true });
      return arrived;
    })();
    await eventually(() => arrived.includes('event: video'), { what: 'the first look' });
    const closing = other.close();
    const ended = await Promise.race([
      body.then(() => 'ended'),
      new Promise((resolve) => setTimeout(() => resolve('still open'), 5_000)),
    ]);
    expect(ended).toBe('ended');
    expect(await body).toContain('event: video');
    await closing;
  });
});

describe('the state asked for once (/status, where EventSource is missing)', () => {
  it('is the stream’s, with the outcomes awaited', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId, { status: 'failed' });
    const traceId = randomUUID();
    await web.viewData.query(
      `INSERT INTO video_operations (trace_id, video_id, user_id, succeeded, failure_reason, completed_at)
       VALUES ($1, $2, $3, true, null, now())`,
      [traceId, videoId, owner.user!.userId],
    );
    const response = await owner.get(`/creators-portal/videos/${videoId}/status?awaiting=${traceId}`);
    expect(response.headers['cache-control']).toBe('no-store');
    const state = JSON.parse(response.body) as { status: string; parts: object; outcomes: unknown[] };
    expect(state.status).toBe('failed');
    expect(Object.keys(state.parts)).toEqual(['heading', 'media', 'about', 'choices']);
    expect(state.outcomes).toEqual([{ traceId, succeeded: true, message: null }]);
  });
});

describe('the video page', () => {
  it('has no meta refresh while a form is on it: a "Check again" link instead, and the live script', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId, { status: 'processing' });
    const page = await owner.get(`/creators-portal/videos/${videoId}`);
    expect(page.body).not.toContain('http-equiv="refresh"');
    expect(page.body).toMatch(new RegExp(`<a href="/creators-portal/videos/${videoId}">Check again</a>`));
    expect(page.body).toContain('<script src="/assets/video-live.js" defer></script>');
  });

  it('limits its fields to the component’s limits', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    const page = await owner.get(`/creators-portal/videos/${videoId}`);
    expect(elementWithId(page.body, 'video-name')).toContain(`maxlength="${VIDEO_NAME_MAX_LENGTH}"`);
    expect(elementWithId(page.body, 'video-description')).toContain(`maxlength="${VIDEO_DESCRIPTION_MAX_LENGTH}"`);
  });
});

describe('naming without JavaScript', () => {
  const commandsOf = async (videoId: string) =>
    (await web.store.read(videoPublishingCommandStreamName(videoId), { from: 0, max: 100 })).map(
      (message) => message.type,
    );

  it('refuses a name past the limit with a sentence, keeps what was typed, and writes nothing', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    await owner.get(`/creators-portal/videos/${videoId}`);
    const typed = `${'a'.repeat(VIDEO_NAME_MAX_LENGTH)} & <more>`;
    const response = await owner.post(`/creators-portal/videos/${videoId}/name`, { name: typed });
    expect(response.statusCode).toBe(422);
    const sentence = `The name can be at most ${VIDEO_NAME_MAX_LENGTH} characters long; this one has ${typed.length}.`;
    expect(errorSummaryOf(response.body)?.errors).toEqual([{ message: sentence, href: '#video-name' }]);
    expect(elementWithId(response.body, 'video-name')).toContain(`value="${'a'.repeat(120)} &amp; &lt;more&gt;"`);
    expect(elementWithId(response.body, 'video-name')).toContain('aria-invalid="true"');
    expect(await commandsOf(videoId)).toEqual([]);
  });

  it('comes back saving, with what was typed; "Check again" shows the rejection as a sentence, the text kept', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    await owner.get(`/creators-portal/videos/${videoId}`);
    const typed = '   ';
    const sent = await owner.post(`/creators-portal/videos/${videoId}/name`, { name: typed });
    expect(sent.statusCode).toBe(200);
    expect(sent.body).not.toContain('http-equiv="refresh"');
    expect(elementWithId(sent.body, 'video-name')).toContain(`value="${typed}"`);
    expect(messageOf(sent.body)).toBe('Saving…');
    const traceId = /name="check" value="([0-9a-f-]{36})">Check again<\/button>/.exec(sent.body)![1]!;
    expect(await commandsOf(videoId)).toEqual(['NameVideo']);

    // Not handled yet: still saving, the text still there, nothing written again.
    const early = await owner.post(`/creators-portal/videos/${videoId}/name`, { name: typed, check: traceId });
    expect(messageOf(early.body)).toBe('Saving…');
    expect(await commandsOf(videoId)).toEqual(['NameVideo']);

    // The component rejects it; the aggregator records the outcome (each handled twice: nothing changes).
    const { handlers } = videoPublishing.build({ messageStore: web.store, storage: web.storage });
    const [command] = await web.store.read(videoPublishingCommandStreamName(videoId), { from: 0, max: 10 });
    await handlers.commands.NameVideo(command!);
    await handlers.commands.NameVideo(command!);
    const events = await web.store.read(videoPublishingStreamName(videoId), { from: 0, max: 10 });
    expect(events.map((event) => event.type)).toEqual(['VideoNameRejected']);
    await applyOperationOutcomes(events, web.viewData);
    await applyOperationOutcomes(events, web.viewData);

    const checked = await owner.post(`/creators-portal/videos/${videoId}/name`, { name: typed, check: traceId });
    expect(checked.statusCode).toBe(200);
    expect(errorSummaryOf(checked.body)?.errors).toEqual([{ message: 'Name is blank.', href: '#video-name' }]);
    expect(elementWithId(checked.body, 'video-name')).toContain(`value="${typed}"`);
    expect(messageOf(checked.body)).toBe('Name is blank.');
    expect(checked.body).not.toContain('Check again</button>');
    expect(await commandsOf(videoId)).toEqual(['NameVideo']);

    // Another user's trace id tells nothing: still "saving".
    const stranger = await aUser();
    const { videoId: theirs } = await web.addVideo(stranger.user!.userId);
    await stranger.get(`/creators-portal/videos/${theirs}`);
    const forged = await stranger.post(`/creators-portal/videos/${theirs}/name`, { name: 'x', check: traceId });
    expect(messageOf(forged.body)).toBe('Saving…');
    const malformed = await stranger.post(`/creators-portal/videos/${theirs}/name`, { name: 'x', check: 'nope' });
    expect(malformed.statusCode).toBe(400);
    expect(await commandsOf(theirs)).toEqual([]);
  });

  it('answers a background request with its trace id, or the refusal as a sentence', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId);
    await owner.get(`/creators-portal/videos/${videoId}`);
    const post = (form: Record<string, string>) =>
      web.app.inject({
        method: 'POST',
        url: `/creators-portal/videos/${videoId}/describe`,
        payload: new URLSearchParams({ _csrf: owner.csrfToken, ...form }).toString(),
        headers: {
          cookie: owner.cookieHeader(),
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
        },
      });
    // A description at the limit, in characters that take 4 bytes each and CRLF line breaks, is taken.
    const atTheLimit = `${'😀'.repeat(VIDEO_DESCRIPTION_MAX_LENGTH - 2)}\r\n😀`;
    const accepted = await post({ description: atTheLimit });
    expect(accepted.statusCode).toBe(202);
    expect(JSON.parse(accepted.body)).toEqual({ traceId: accepted.headers['x-trace-id'] });
    const [command] = await web.store.read(videoPublishingCommandStreamName(videoId), { from: 0, max: 10 });
    expect(command!.data).toMatchObject({ description: atTheLimit.replace('\r\n', '\n') });

    const refused = await post({ description: `${atTheLimit}!` });
    expect(refused.statusCode).toBe(422);
    expect(JSON.parse(refused.body)).toMatchObject({
      message: `The description can be at most ${VIDEO_DESCRIPTION_MAX_LENGTH} characters long; this one has ${VIDEO_DESCRIPTION_MAX_LENGTH + 1}.`,
    });
  });
});

describe('asSentence', () => {
  it('makes a sentence of a reason, and leaves one alone', () => {
    expect(asSentence('name is the same as the current name')).toBe('Name is the same as the current name.');
    expect(asSentence('That is taken.')).toBe('That is taken.');
    expect(asSentence('  ')).toBe('It was not accepted.');
  });
});

/** What the name form's message says (`video-name-message`). */
const messageOf = (body: string) => /id="video-name-message"[^>]*>([^<]*)</.exec(body)?.[1];

describe('the owner’s choices, live', () => {
  it('arrive as a part of the page, their forms without a token the page fills in; the page has them with it', async () => {
    const owner = await aUser();
    const { videoId } = await web.addVideo(owner.user!.userId, { status: 'processing' });
    const stream = await openStream(owner, `/creators-portal/videos/${videoId}/events`);
    expect((await stream.next('video')).parts.choices!.html).toBe(''); // nothing to choose while it is prepared

    // Ready and named: Publish is offered, without reloading.
    await web.viewData.query(
      `UPDATE creators_portal_videos SET status = 'published', name = 'Choices', listed = false,
              transcoded_uri = $2 WHERE id = $1`,
      [videoId, web.storage.uriOf(`transcoded/${videoId}.mp4`)],
    );
    const ready = await stream.next('video', (data) => data.parts.choices!.html.includes('Publish'));
    expect(ready.parts.choices!.html).toContain(`action="/creators-portal/videos/${videoId}/publish"`);
    expect(ready.parts.choices!.html).toContain('<input type="hidden" name="_csrf" value="" />');
    // The page: the same part, the same hash, and its forms with the page's token (they work without scripts).
    const page = await owner.get(`/creators-portal/videos/${videoId}`);
    expect(page.body).toContain(`data-live-part="choices" data-live-hash="${ready.parts.choices!.hash}"`);
    const choices = /data-live-part="choices"[^>]*>([\s\S]*?)<\/section>/.exec(page.body)![1]!;
    expect(choices).toMatch(/<input type="hidden" name="_csrf" value="[^"]+" \/>/);

    // Published by its owner: Unlist instead.
    await web.viewData.query(`UPDATE creators_portal_videos SET listed = true WHERE id = $1`, [videoId]);
    const listed = await stream.next('video', (data) => data.parts.choices!.html.includes('Unlist'));
    expect(listed.parts.choices!.hash).not.toBe(ready.parts.choices!.hash);
    expect(listed.parts.choices!.html).not.toContain('/publish"');
    await stream.close();
  });
});
