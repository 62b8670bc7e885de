import type { ViewDataSchema } from '../../view-data/schema.js';

/** The video-operations aggregator's table, `video_operations`, as the migrations make it. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'video_operations' }],
  steps: {
    '0004-videos': `

      -- The outcome of each naming/describing request, by the trace id of the request (video-operations aggregator).
      CREATE TABLE video_operations (
        trace_id text PRIMARY KEY,
        video_id uuid NOT NULL,
        user_id text,
        succeeded boolean NOT NULL,
        failure_reason text,
        completed_at timestamptz NOT NULL
      );`,
    '0015-creators-names': `
      ALTER TABLE video_operations ADD COLUMN answer_type text;`,
  },
};
