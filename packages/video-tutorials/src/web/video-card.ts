import { createHash } from 'node:crypto';
import { clockTime } from '../captions.js';
import { html, type SafeHtml } from '../html.js';

/**
 * How a creator is named in public: by the display name they gave at registration, else by a neutral handle made
 * from their user id, `Creator 7K3QJX` — the same on every page, telling creators apart, revealing neither the
 * e-mail address (never shown publicly) nor the id (six characters of a SHA-256 of it, Crockford's base 32).
 * A deleted account's videos show the handle, not "A former creator": the handle says nothing of the person (it
 * comes from a random id), and it still tells one deleted creator's videos from another's. The name is shown
 * without control and bidirectional formatting characters (which could make the text around it read backwards);
 * a name with nothing else left gives way to the handle.
 */
export function creatorName(ownerId: string, displayName: string | null = null): string {
  const name = displayName?.replace(UNSHOWN_IN_NAMES, '').replace(/\s+/g, ' ').trim();
  if (name) return name;
  const digest = createHash('sha256').update(`creator:${ownerId}`).digest();
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let handle = '';
  for (let index = 0; index < 6; index++) handle += alphabet[digest[index]! % 32];
  return `Creator ${handle}`;
}

/** Control characters, bidirectional marks, embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex
const UNSHOWN_IN_NAMES = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const DATE = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

/** A day, `2 Dec 2026` (UTC), in a `<time>` whose `datetime` is the instant. */
export function dateElement(at: Date): SafeHtml {
  return html`<time datetime="${at.toISOString()}">${DATE.format(at)}</time>`;
}

/** A duration as ISO 8601 says it, for `<time datetime>`: `PT1H2M5S`, `PT45S`. */
export function isoDuration(seconds: number): string {
  const total = Math.floor(Math.max(0, seconds));
  const [hours, minutes, secs] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const parts = `${hours ? `${hours}H` : ''}${minutes ? `${minutes}M` : ''}${secs || total === 0 ? `${secs}S` : ''}`;
  return `PT${parts}`;
}

/** A duration as a player shows it, `m:ss` or `h:mm:ss`, in a `<time>` with its ISO 8601 duration. */
export function durationElement(seconds: number): SafeHtml {
  return html`<time datetime="${isoDuration(seconds)}">${clockTime(seconds)}</time>`;
}

/** "Creator 7K3QJX · 2 Dec 2026 · 1:05": who made it, when, how long (when known). */
export function videoFacts({
  creator,
  date,
  durationSeconds,
}: {
  creator: string;
  date: Date;
  durationSeconds: number | null;
}) {
  // A name in another script (Arabic, Hebrew…) is isolated so that it cannot turn the facts after it around.
  const name = /^[\x20-\x7e]*$/.test(creator) ? creator : html`<bdi>${creator}</bdi>`;
  return html`<span class="creator">${name}</span> ·
    ${dateElement(date)}${
      durationSeconds === null
        ? ''
        : html` · <span class="visually-hidden">Duration </span>${durationElement(durationSeconds)}`
    }`;
}

export interface VideoCard {
  id: string;
  name: string;
  /** Where the card leads: the watch page, or the creators portal's page of the video. */
  href: string;
  hasPoster: boolean;
  creator: string;
  /** Its publishing date; in "my videos", its upload. */
  date: Date;
  durationSeconds: number | null;
  viewCount: number;
  /** More of the card, under its facts: a status, a snippet. */
  extra?: SafeHtml;
}

/** A video as its pages and cards title it. */
export const videoTitle = (video: { name: string }) => video.name || 'Untitled video';

export const viewsText = (count: number) => `${count} ${count === 1 ? 'view' : 'views'}`;

/**
 * The video card of every list (home, catalogue, search, "my videos"): one link, thumbnail and title, named by the
 * title — one tab stop (the thumbnail is decorative, `alt=""`) — then the creator, the date and the duration.
 */
export function videoCard(card: VideoCard, heading: 'h2' | 'h3' = 'h3'): SafeHtml {
  const thumbnail = card.hasPoster
    ? html`<img class="thumb" src="/media/posters/${card.id}" alt="" loading="lazy" />`
    : html`<div class="thumb placeholder" aria-hidden="true">▶</div>`;
  const title =
    heading === 'h2'
      ? html`<h2 class="video-card-title">${videoTitle(card)}</h2>`
      : html`<h3 class="video-card-title">${videoTitle(card)}</h3>`;
  return html`<li class="card video-card" data-video-id="${card.id}">
    <a class="video-card-link" href="${card.href}"> ${thumbnail} ${title} </a>
    <p class="video-facts muted">${videoFacts(card)}</p>
    ${card.extra ?? ''}
    <p class="muted">${viewsText(card.viewCount)}</p>
  </li>`;
}

/** The card of a public video, leading to its watch page. */
export function publicVideoCard(
  video: {
    id: string;
    ownerId: string;
    name: string;
    ownerDisplayName: string | null;
    posterUri: string | null;
    publishedAt: Date;
    durationSeconds: number | null;
    viewCount: number;
  },
  extra?: SafeHtml,
): SafeHtml {
  return videoCard({
    id: video.id,
    name: video.name,
    href: `/videos/${video.id}`,
    hasPoster: video.posterUri !== null,
    creator: creatorName(video.ownerId, video.ownerDisplayName),
    date: video.publishedAt,
    durationSeconds: video.durationSeconds,
    viewCount: video.viewCount,
    ...(extra ? { extra } : {}),
  });
}
