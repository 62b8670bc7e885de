import type { Queryable, StoredMessage } from 'message-db-toolkit';
import { buildCues, Cues, type Cue } from '../../captions.js';
import {
  PublishingRetried,
  PublishingStarted,
  VideoDescribed,
  VideoNamed,
  VideoPublished,
  videoPublishingCategory,
  VideoTranscoded,
  VideoTranscribed,
} from '../../contracts/video-publishing.js';
import { readKeysetPage, type KeysetPage, type PageRequest } from '../../view-data/keyset-pages.js';
import { aggregatorPiece, type AggregatorDeps, type AggregatorDescriptor } from '../aggregator.js';
import { OWNER_NAME_COLUMN, OWNER_NAME_JOIN } from '../user-credentials/index.js';
import { listingChangesOf, parsedInItsStream, updateIfNewer, upsertIfNewer } from '../video-rows.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'catalogue-aggregator',
  subscriptions: { events: { streamName: videoPublishingCategory, subscriberId: 'aggregators:catalogue' } },
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * Keeps `video_catalogue`, the public catalogue: a video shows once it is published and listed by its owner (a
 * video the book's system published, whose row no `PublishingStarted` made, has `listed` null: public, as the
 * book showed it), until it is unlisted or deleted. A transcription with timed
 * words becomes the video's caption cues (`caption_cues`, see src/captions.ts), made here once rather than on
 * every request for the watch page or its captions.
 */
export function build(deps: AggregatorDeps) {
  return aggregatorPiece(descriptor, applyCatalogueEvents, deps);
}

export async function applyCatalogueEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (PublishingStarted.is(message)) {
      const { videoId, ownerId } = PublishingStarted.parse(message).data;
      await tx.query(
        `INSERT INTO video_catalogue (id, owner_id, publishing_position, listed) VALUES ($1, $2, $3, false)
         ON CONFLICT (id) DO NOTHING`,
        [videoId, ownerId, message.position],
      );
    } else if (VideoTranscoded.is(message)) {
      const { transcodedUri, posterUri, durationSeconds } = VideoTranscoded.parse(message).data;
      await updateIfNewer(tx, 'video_catalogue', message, {
        transcoded_uri: transcodedUri,
        poster_uri: posterUri,
        duration_seconds: durationSeconds,
      });
    } else if (VideoTranscribed.is(message)) {
      const { transcription, words } = VideoTranscribed.parse(message).data;
      await updateIfNewer(tx, 'video_catalogue', message, {
        transcription,
        caption_cues: words
          ? JSON.stringify(buildCues(words.map(([text, start, end]) => ({ text, start, end }))))
          : null,
      });
    } else if (VideoPublished.is(message)) {
      // The book's system published without a PublishingStarted before: the row is made here then.
      const { ownerId, transcodedUri } = parsedInItsStream(VideoPublished, message).data;
      await upsertIfNewer(tx, 'video_catalogue', message, {
        owner_id: ownerId,
        transcoded_uri: transcodedUri,
        published_at: message.time.toISOString(),
      });
    } else if (VideoNamed.is(message)) {
      await updateIfNewer(tx, 'video_catalogue', message, { name: VideoNamed.parse(message).data.name });
    } else if (VideoDescribed.is(message)) {
      await updateIfNewer(tx, 'video_catalogue', message, {
        description: VideoDescribed.parse(message).data.description,
      });
    } else if (PublishingRetried.is(message)) {
      // A video the book's system failed, tried again here, is public only by its owner's choice from now on.
      const { ownerId } = parsedInItsStream(PublishingRetried, message).data;
      await upsertIfNewer(tx, 'video_catalogue', message, { owner_id: ownerId, listed: false });
    } else {
      const changes = listingChangesOf(message);
      if (changes)
        await updateIfNewer(tx, 'video_catalogue', message, {
          ...changes,
          ...(changes.deleted_at ? { caption_cues: null } : {}),
        });
    }
  }
}

export interface CatalogueVideo {
  id: string;
  ownerId: string;
  name: string;
  description: string;
  transcodedUri: string;
  posterUri: string | null;
  transcription: string | null;
  durationSeconds: number | null;
  viewCount: number;
  publishedAt: Date;
  /** The name its owner gave, for public pages; null: none given, or the account deleted. */
  ownerDisplayName: string | null;
}

type CatalogueRow = {
  id: string;
  owner_id: string;
  name: string;
  description: string;
  transcoded_uri: string;
  poster_uri: string | null;
  transcription: string | null;
  duration_seconds: number | null;
  view_count: string | number;
  published_at: Date | string;
  owner_display_name: string | null;
};

/**
 * Which videos are public — in the catalogue, on their watch page, in search, with their media and captions: the
 * one place that says so: published, listed by its owner (or the book's), not deleted. A SQL condition on the
 * catalogue table aliased `v`; the partial index video_catalogue_public is this.
 */
export const PUBLIC_VIDEO = 'v.published_at IS NOT NULL AND v.deleted_at IS NULL AND v.listed IS NOT FALSE';

const CATALOGUE_COLUMNS = `v.id, v.owner_id, v.name, v.description, v.transcoded_uri, v.poster_uri, v.transcription,
         v.duration_seconds, COALESCE(c.view_count, 0) AS view_count, v.published_at, ${OWNER_NAME_COLUMN}`;
/** The columns a card needs: the transcript (up to 5,000 words) is only the watch page's. */
const CARD_COLUMNS = CATALOGUE_COLUMNS.replace('v.transcription', 'NULL::text AS transcription');
const PUBLISHED_VIDEOS = `video_catalogue v LEFT JOIN video_view_counts c ON c.video_id = v.id::text ${OWNER_NAME_JOIN}
   WHERE ${PUBLIC_VIDEO}`;
const SELECT_PUBLISHED = `SELECT ${CATALOGUE_COLUMNS} FROM ${PUBLISHED_VIDEOS}`;

const toCatalogueVideo = (row: CatalogueRow): CatalogueVideo => ({
  id: row.id,
  ownerId: row.owner_id,
  name: row.name,
  description: row.description,
  transcodedUri: row.transcoded_uri,
  posterUri: row.poster_uri,
  transcription: row.transcription,
  durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
  viewCount: Number(row.view_count),
  publishedAt: new Date(row.published_at),
  ownerDisplayName: row.owner_display_name,
});

export async function listPublishedVideos(viewData: Queryable, limit = 48): Promise<CatalogueVideo[]> {
  const rows = await viewData.query<CatalogueRow>(`${SELECT_PUBLISHED} ORDER BY v.published_at DESC LIMIT $1`, [limit]);
  return rows.map(toCatalogueVideo);
}

export async function findPublishedVideo(viewData: Queryable, videoId: string): Promise<CatalogueVideo | null> {
  const [row] = await viewData.query<CatalogueRow>(`${SELECT_PUBLISHED} AND v.id = $1`, [videoId]);
  return row ? toCatalogueVideo(row) : null;
}

/**
 * The caption cues of a published video — empty when its transcription has no word times (none, an old one, or
 * silence) — or null when no such video is published. Read apart from the video: the catalogue's other readers
 * (the home page, the media, viewings) never need them. Cues that are not what `buildCues` makes count as none.
 */
export async function findCaptionCues(viewData: Queryable, videoId: string): Promise<Cue[] | null> {
  const [row] = await viewData.query<{ caption_cues: unknown }>(
    `SELECT v.caption_cues FROM video_catalogue v WHERE v.id = $1 AND ${PUBLIC_VIDEO}`,
    [videoId],
  );
  if (!row) return null;
  return Cues.safeParse(row.caption_cues).data ?? [];
}

/** True when the video was in the catalogue's records and its owner deleted it: its page is gone (410). */
export async function isDeletedVideo(viewData: Queryable, videoId: string): Promise<boolean> {
  const rows = await viewData.query(`SELECT 1 FROM video_catalogue WHERE id = $1 AND deleted_at IS NOT NULL`, [
    videoId,
  ]);
  return rows.length > 0;
}

/** A page of the public catalogue, newest first (keyset pagination: see web/pagination.ts). */
export async function listCataloguePage(
  viewData: Queryable,
  request: PageRequest,
): Promise<KeysetPage<CatalogueVideo>> {
  const page = await readKeysetPage<CatalogueRow>(
    viewData,
    { select: CARD_COLUMNS, from: PUBLISHED_VIDEOS, params: [], at: 'v.published_at', id: 'v.id' },
    request,
  );
  return { ...page, rows: page.rows.map(toCatalogueVideo) };
}

/**
 * The videos after this one in the catalogue (published before it, newest first), then — past the oldest — from
 * the newest again: what to watch next. Never the video itself; fewer when the catalogue is small.
 */
export async function findNextVideos(viewData: Queryable, videoId: string, count = 4): Promise<CatalogueVideo[]> {
  const rows = await viewData.query<CatalogueRow>(
    `WITH this AS (SELECT published_at, id FROM video_catalogue WHERE id = $1)
     (SELECT ${CARD_COLUMNS}, 0 AS part FROM ${PUBLISHED_VIDEOS}
         AND (v.published_at, v.id) < (SELECT published_at, id FROM this)
       ORDER BY v.published_at DESC, v.id DESC LIMIT $2)
     UNION ALL
     (SELECT ${CARD_COLUMNS}, 1 AS part FROM ${PUBLISHED_VIDEOS}
         AND (v.published_at, v.id) > (SELECT published_at, id FROM this)
       ORDER BY v.published_at DESC, v.id DESC LIMIT $2)
     ORDER BY part, published_at DESC, id DESC LIMIT $2`,
    [videoId, count],
  );
  return rows.map(toCatalogueVideo);
}

/** A public video's views, for the watch page's live count; null when no such video is public. */
export async function findViewCount(viewData: Queryable, videoId: string): Promise<number | null> {
  const [row] = await viewData.query<{ view_count: string | number }>(
    `SELECT COALESCE(c.view_count, 0) AS view_count FROM ${PUBLISHED_VIDEOS} AND v.id = $1`,
    [videoId],
  );
  return row ? Number(row.view_count) : null;
}

/** The longest search we run, in characters: longer ones are refused (the search box says so too). */
export const SEARCH_MAX_LENGTH = 200;
/** Search results are ranked, so paged by OFFSET — up to this page: beyond, a search should say more. */
export const SEARCH_MAX_PAGE = 20;

/**
 * Marks around the words a search found, in a snippet. Control characters no name, description or transcription
 * keeps (they are taken out of the text first), so text can never forge a mark: the page escapes the snippet
 * whole and only then turns these into `<mark>` elements.
 */
export const SNIPPET_MARK_START = '\u0001';
export const SNIPPET_MARK_END = '\u0002';
const HEADLINE_OPTIONS =
  `StartSel=${SNIPPET_MARK_START}, StopSel=${SNIPPET_MARK_END}, ` +
  'MaxFragments=2, MaxWords=22, MinWords=8, FragmentDelimiter=" … "';

export interface SearchHit extends CatalogueVideo {
  /** Where the description or transcript says what was searched for, the words found between the marks. */
  snippet: string;
}

/**
 * Public videos matching a search typed as on a search engine (`websearch_to_tsquery`: words, "quoted phrases",
 * `or`, `-word`), English stemming, best first: the name weighs most, then the description, then the transcript
 * (`ts_rank`: on 2,000 matches it takes half the time `ts_rank_cd` takes, and the weights are what rank here).
 * `offset`/`limit` page the ranked results; one more than `limit` tells whether there is a next page.
 */
export async function searchCatalogue(
  viewData: Queryable,
  text: string,
  { offset, limit }: { offset: number; limit: number },
): Promise<SearchHit[]> {
  const rows = await viewData.query<CatalogueRow & { snippet: string }>(
    `WITH query AS (SELECT websearch_to_tsquery('english', $1) AS q),
     hits AS (
       SELECT v.id, v.published_at, ts_rank(v.search_document, query.q, 32) AS rank
         FROM video_catalogue v, query
        WHERE ${PUBLIC_VIDEO} AND v.search_document @@ query.q
        ORDER BY rank DESC, v.published_at DESC, v.id DESC
        LIMIT $2 OFFSET $3)
     SELECT ${CARD_COLUMNS},
            ts_headline('english',
              translate(left(concat_ws(' … ', nullif(v.description, ''), v.transcription), 20000), $5, '  '),
              query.q, $4) AS snippet
       FROM hits JOIN video_catalogue v ON v.id = hits.id
            LEFT JOIN video_view_counts c ON c.video_id = v.id::text ${OWNER_NAME_JOIN}, query
      ORDER BY hits.rank DESC, hits.published_at DESC, hits.id DESC`,
    [text, limit, offset, HEADLINE_OPTIONS, SNIPPET_MARK_START + SNIPPET_MARK_END],
  );
  return rows.map((row) => ({ ...toCatalogueVideo(row), snippet: row.snippet }));
}
