import type { ViewDataSchema } from '../../view-data/schema.js';

/**
 * The one row `pages` starts with: 0001-pages inserts it, and `rebuild` into the table it builds. A step once
 * applied stays as it is (view-data/migrations.test.ts holds each one's SHA-256): a change of row is a new step.
 */
const HOME_PAGE_SEED = `INSERT INTO pages (page_name, page_data) VALUES ('home', '{"videosWatched": 0}'::jsonb)`;

/** The home page aggregator's table, `pages`, as the migrations make it, with the home page's row. */
export const schema: ViewDataSchema = {
  tables: [{ name: 'pages', seed: HOME_PAGE_SEED }],
  steps: {
    '0001-pages': `
      CREATE TABLE pages (
        page_name text PRIMARY KEY,
        page_data jsonb NOT NULL DEFAULT '{}'::jsonb,
        last_global_position bigint NOT NULL DEFAULT 0
      );
      ${HOME_PAGE_SEED};`,
  },
};
