import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_VIDEO_ID } from '../app/home/index.js';
import { viewingStreamName } from '../contracts/viewing.js';
import { startWebUnderAttack, type WebUnderAttack } from './harness.js';

/**
 * A viewing is recorded only for a published video (or the sample video), once per playback token that
 * the page playing it issued, and at most 30 a minute per client.
 */
let web: WebUnderAttack;
let published: string;
let unpublished: string;
beforeAll(async () => {
  web = await startWebUnderAttack();
});
afterAll(async () => {
  await web?.close();
});

let clients = 0;
/** A browser on its own address, so each test has the rate limit to itself. */
const newClient = () => web.browser('anonymous', `10.7.${clients >> 8}.${clients++ & 255}`);
type Client = Awaited<ReturnType<typeof newClient>>;

/** What the watch page's script sends when playback starts. */
function recordViewing(client: Client, videoId: string, playbackToken?: string) {
  return web.app.inject({
    method: 'POST',
    url: `/record-viewing/${videoId}`,
    remoteAddress: `10.7.${(clients - 1) >> 8}.${(clients - 1) & 255}`,
    headers: {
      cookie: client.cookieHeader(),
      'x-csrf-token': client.csrfToken,
      accept: 'application/json',
      ...(playbackToken ? { 'x-playback-token': playbackToken } : {}),
    },
  });
}

async function watchPageToken(client: Client, videoId: string) {
  const page = await client.get(`/videos/${videoId}`);
  expect(page.statusCode).toBe(200);
  return /data-playback-token="([^"]+)"/.exec(page.body)![1]!;
}

const viewings = async (videoId: string) => (await web.store.read(viewingStreamName(videoId))).length;

// First, while the catalogue is empty: only then does the home page offer the sample video.
describe('viewings of the sample video', () => {
  it('come from the home page’s form, once per page', async () => {
    const client = await newClient();
    const before = await viewings(SAMPLE_VIDEO_ID);
    for (let page = 0; page < 2; page++) {
      const token = /name="playbackToken" value="([^"]+)"/.exec((await client.get('/')).body)![1]!;
      // The form posts the page's token; posting it again is the same playback.
      expect((await client.post(`/record-viewing/${SAMPLE_VIDEO_ID}`)).statusCode).toBe(303);
      expect((await client.post(`/record-viewing/${SAMPLE_VIDEO_ID}`, { playbackToken: token })).statusCode).toBe(303);
    }
    expect(await viewings(SAMPLE_VIDEO_ID)).toBe(before + 2);
    expect((await client.post(`/record-viewing/${SAMPLE_VIDEO_ID}`, { playbackToken: 'made up' })).statusCode).toBe(
      400,
    );
  });
});

describe('viewings', () => {
  beforeAll(async () => {
    const owner = await web.addUser();
    published = (await web.addVideo(owner.userId)).videoId;
    unpublished = (await web.addVideo(owner.userId, { status: 'processing' })).videoId;
  });

  it('of random video ids, as in the attack, write nothing', async () => {
    const client = await newClient();
    const ids = Array.from({ length: 20 }, () => randomUUID());
    for (const videoId of ids) expect((await recordViewing(client, videoId)).statusCode).toBe(404);
    for (const videoId of ids) expect(await viewings(videoId)).toBe(0);
  });

  it('of a video not published are refused, even with a token made for a published one', async () => {
    const client = await newClient();
    const token = await watchPageToken(client, published);
    expect((await recordViewing(client, unpublished, token)).statusCode).toBe(404);
    expect(await viewings(unpublished)).toBe(0);
  });

  it('need a genuine playback token for that very video', async () => {
    const client = await newClient();
    const before = await viewings(published);
    const other = await web.addVideo((await web.addUser()).userId);
    const tokenOfOther = await watchPageToken(client, other.videoId);
    const genuine = await watchPageToken(client, published);
    const [body, signature] = genuine.split('.') as [string, string];
    const forged = [
      undefined,
      'not-a-token',
      `${body}.${signature.slice(0, -2)}xx`,
      `${Buffer.from(JSON.stringify({ id: randomUUID(), videoId: published, issuedAt: Date.now() })).toString('base64url')}.${signature}`,
      tokenOfOther,
      `${genuine}.extra`,
    ];
    for (const token of forged)
      expect({ token, status: (await recordViewing(client, published, token)).statusCode }).toEqual({
        token,
        status: 400,
      });
    expect(await viewings(published)).toBe(before);
  });

  it('count once per playback: a token used again records nothing more, the next playback’s token does', async () => {
    const client = await newClient();
    const before = await viewings(published);
    const token = await watchPageToken(client, published);
    const first = await recordViewing(client, published, token);
    expect(first.statusCode).toBe(204);
    for (let again = 0; again < 5; again++) await recordViewing(client, published, token);
    expect(await viewings(published)).toBe(before + 1);
    const next = String(first.headers['x-playback-token']);
    expect(next).not.toBe(token);
    expect((await recordViewing(client, published, next)).statusCode).toBe(204);
    expect(await viewings(published)).toBe(before + 2);
  });

  it('are rate-limited per client', async () => {
    const client = await newClient();
    const statuses: number[] = [];
    for (let playback = 0; playback < 32; playback++)
      statuses.push((await recordViewing(client, published, await watchPageToken(client, published))).statusCode);
    expect(statuses.slice(0, 30).every((status) => status === 204)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
  });
});
