import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql ships CJS (main) and ESM (module); Node and Pothos load the CJS one, and two copies
    // of graphql cannot share a schema. Make vite resolve the same file Node does.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
    // `chat-api/sdk` is the SDK's source in tests (package.json exports), so they never run a stale build.
    conditions: ['source'],
  },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Each file starts its own servers; two cores run two files at a time.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
