import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The system tests need programs besides Node (Chromium, kubectl, the Python client): npm run test:system.
    exclude: ['test/system/**', '**/node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // bin/spawnkeeper.mjs and the package run compiled code: build dist/ first when a source changed.
    globalSetup: ['test/support/build-dist.ts'],
  },
});
