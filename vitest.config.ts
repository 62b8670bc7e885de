import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts'],
    // The application's tests import the built toolkit (dist/), as an outsider would: build it first when stale.
    globalSetup: ['scripts/build-toolkit.mjs'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: two files at a time keeps PostgreSQL and PGlite runs steady.
    maxWorkers: 2,
  },
});
