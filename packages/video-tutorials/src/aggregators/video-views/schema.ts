import type { ViewDataSchema } from '../../view-data/schema.js';

/** The video-views aggregator's table, `video_view_counts`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'video_view_counts' }],
  steps: {
    '0004-videos': `

      -- The views of every video, counted from its viewing stream (video-views aggregator).
      CREATE TABLE video_view_counts (
        video_id uuid PRIMARY KEY,
        view_count bigint NOT NULL
      );`,
    '0009-view-counts-of-any-video-id': `ALTER TABLE video_view_counts ALTER COLUMN video_id TYPE text USING video_id::text;`,
  },
};
