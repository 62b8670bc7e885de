import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebUnderAttack, type WebUnderAttack } from '../../security/harness.js';
import { pageLinks, videoCards } from '../../test-support/page-checks.js';
import { creatorName } from '../../web/video-card.js';

/**
 * "My videos" (`/creators-portal`), a page at a time: keyset pages of the owner's videos, the latest upload first,
 * with Next/Previous links; cards with the creator, the upload date and the duration; another user's videos never,
 * whatever the page address; a page address we did not make answered 400 with a sentence.
 */
let web: WebUnderAttack;
beforeAll(async () => {
  web = await startWebUnderAttack();
});
afterAll(async () => {
  await web?.close();
});

const cardIds = (body: string) =>
  videoCards(body).map(({ links }) => /\/creators-portal\/videos\/([0-9a-f-]{36})$/.exec(links[0]!.href)?.[1]);

describe('my videos', () => {
  it('come 24 a page, the latest upload first, each once, with Next and Previous; never another’s', async () => {
    const owner = await web.browser('user');
    const uploaded: string[] = [];
    for (let n = 0; n < 27; n++) uploaded.unshift((await web.addVideo(owner.user!.userId)).videoId);
    const other = await web.browser('user');
    const othersVideo = (await web.addVideo(other.user!.userId)).videoId;

    const first = await owner.get('/creators-portal');
    expect(first.statusCode).toBe(200);
    expect(cardIds(first.body)).toEqual(uploaded.slice(0, 24));
    const links = pageLinks(first.body);
    expect(links.previous).toBeNull();
    expect(links.next).toMatch(/^\/creators-portal\?after=\d{4}-\d{2}-\d{2}T[\d:.]+Z~[0-9a-f-]{36}$/);
    const second = await owner.get(links.next!);
    expect(cardIds(second.body)).toEqual(uploaded.slice(24));
    expect(pageLinks(second.body).next).toBeNull();
    const back = await owner.get(pageLinks(second.body).previous!);
    expect(cardIds(back.body)).toEqual(uploaded.slice(0, 24));
    expect(pageLinks(back.body).previous).toBeNull();

    // Smaller pages keep their size in the links.
    const small = await owner.get('/creators-portal?size=10');
    expect(cardIds(small.body)).toEqual(uploaded.slice(0, 10));
    expect(pageLinks(small.body).next).toMatch(/^\/creators-portal\?size=10&after=/);

    // The other user's page addresses, in the owner's browser, still show only the owner's videos; and back.
    const theirs = await other.get('/creators-portal');
    expect(cardIds(theirs.body)).toEqual([othersVideo]);
    expect((await owner.get(links.next!.replace('after=', 'before='))).body).not.toContain(othersVideo);
    expect((await other.get(links.next!)).body).not.toContain(uploaded[25]);
  });

  it('show the creator, the upload date and the duration on each card', async () => {
    const owner = await web.browser('user');
    const { videoId } = await web.addVideo(owner.user!.userId);
    await web.viewData.query('UPDATE creators_portal_videos SET duration_seconds = 3.4 WHERE id = $1', [videoId]);
    const body = (await owner.get('/creators-portal')).body;
    const card = new RegExp(`<li class="card video-card" data-video-id="${videoId}">([\\s\\S]*?)</li>`).exec(body)![1]!;
    expect(card).toContain(`<span class="creator">${creatorName(owner.user!.userId)}</span>`);
    expect(card).toMatch(/<time datetime="[\dT:.Z-]+">\d{1,2} \w{3} \d{4}<\/time>/);
    expect(card).toContain('<time datetime="PT3S">0:03</time>');
    expect(card).toMatch(/<span class="badge published (ready|public)">(Ready|Public)<\/span>/); // the owner's badge
  });

  it('refuse a page address we did not make with 400 and a sentence', async () => {
    const owner = await web.browser('user');
    for (const query of [
      'after=nonsense',
      `after=2026-02-30T00:00:00.000000Z~${randomUUID()}`,
      `after=x&before=y`,
      'size=0',
      'size=49',
      `before=${'%27'.repeat(3000)}`,
    ]) {
      const response = await owner.get(`/creators-portal?${query}`);
      expect(response.statusCode, query.slice(0, 40)).toBe(400);
      expect(response.body).toMatch(/role="alert">[A-Z][^<]+\.<\/div>/);
      expect(response.body).toContain('href="/creators-portal"');
    }
  });
});
