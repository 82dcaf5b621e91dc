import { defineConfig } from 'vitest/config';

/** The system tests: real programs nobody here wrote (Chromium, kubectl, the Python client) against spawnkeeper. */
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // bin/spawnkeeper.mjs and the package run compiled code: build dist/ first when a source changed.
    globalSetup: ['test/support/build-dist.ts'],
  },
});
