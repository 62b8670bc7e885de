import type { ViewDataSchema } from '../../view-data/schema.js';

/** The catalogue aggregator's table, `video_catalogue`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'video_catalogue' }],
  steps: {
    '0004-videos': `

      -- The public catalogue: shown once published_at is set (catalogue aggregator).
      CREATE TABLE video_catalogue (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        transcoded_uri text,
        poster_uri text,
        transcription text,
        duration_seconds double precision,
        published_at timestamptz,
        publishing_position bigint NOT NULL DEFAULT -1
      );
      CREATE INDEX video_catalogue_published ON video_catalogue (published_at DESC) WHERE published_at IS NOT NULL;`,
    '0011-caption-cues': `ALTER TABLE video_catalogue ADD COLUMN caption_cues jsonb;`,
    '0012-video-lifecycle': [
      `
      ALTER TABLE video_catalogue ADD COLUMN listed boolean, ADD COLUMN deleted_at timestamptz;`,
      `
      DELETE FROM video_catalogue;`,
      `
      CREATE INDEX video_catalogue_public ON video_catalogue (published_at DESC)
       WHERE published_at IS NOT NULL AND deleted_at IS NULL AND listed IS NOT FALSE;`,
    ],
    '0013-catalogue-search-and-pages': `
      ALTER TABLE video_catalogue ADD COLUMN search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, left(name, 1000)), 'A') ||
        setweight(to_tsvector('english'::regconfig, left(description, 20000)), 'B') ||
        setweight(to_tsvector('english'::regconfig, left(coalesce(transcription, ''), 100000)), 'C')
      ) STORED;
      CREATE INDEX video_catalogue_search ON video_catalogue USING gin (search_document);
      CREATE INDEX video_catalogue_by_publishing ON video_catalogue (published_at DESC, id DESC);`,
  },
};
