import type { ViewDataSchema } from '../../view-data/schema.js';

/** The creators-videos aggregator's table, `creators_portal_videos`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'creators_portal_videos' }],
  steps: {
    '0004-videos': `
      -- The creators portal: every video of its owner, whatever its state (creators-videos aggregator).
      CREATE TABLE creators_portal_videos (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        status text NOT NULL DEFAULT 'processing' CHECK (status IN ('processing', 'published', 'failed')),
        failure_reason text,
        name text NOT NULL DEFAULT '',
        description text NOT NULL DEFAULT '',
        source_uri text NOT NULL,
        transcoded_uri text,
        poster_uri text,
        transcription text,
        transcription_failure text,
        duration_seconds double precision,
        uploaded_at timestamptz NOT NULL,
        published_at timestamptz,
        -- the videoPublishing stream position last applied; views are counted by viewing stream position
        publishing_position bigint NOT NULL DEFAULT -1
      );
      CREATE INDEX creators_portal_videos_owner ON creators_portal_videos (owner_id, uploaded_at DESC);`,
    '0012-video-lifecycle': [
      `
      ALTER TABLE creators_portal_videos ADD COLUMN listed boolean, ADD COLUMN deleted_at timestamptz;`,
      `
      DELETE FROM creators_portal_videos;`,
    ],
    '0013-catalogue-search-and-pages': `
      CREATE INDEX creators_portal_videos_owner_pages ON creators_portal_videos (owner_id, uploaded_at DESC, id DESC);`,
  },
};
