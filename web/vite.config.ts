import { defaultClientConditions, defineConfig } from 'vite';

/**
 * The web chat: Preact through Vite's own JSX transform (no Babel preset),
 * built into web/dist, which the server serves at `/`. `npm run dev:web`
 * serves it with hot reload and forwards /graphql (HTTP, SSE, WebSocket) to a
 * server on :4000.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    // The SDK imports graphql's ESM build; keep one copy of it in the bundle.
    dedupe: ['graphql'],
    // The SDK from its source (package.json exports), as the tests use it: no build of it needed first.
    conditions: ['source', ...defaultClientConditions],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    reportCompressedSize: false,
  },
  server: {
    proxy: { '/graphql': { target: 'http://127.0.0.1:4000', ws: true } },
  },
});
