/**
 * Builds the web chat into web/dist, which the server serves at `/`. Runs as
 * the package's `prepare` script, so `npm install` and `npm ci` leave a fresh
 * build behind and `npm start` serves it with no other command. An install
 * without devDependencies (no Vite) skips the build with a warning instead of
 * failing: the API still works, and `/` says how to build the chat.
 */
import { fileURLToPath } from 'node:url';

let vite: typeof import('vite');
try {
  vite = await import('vite');
} catch {
  console.warn('web chat not built: Vite is not installed (an install without devDependencies?). Run `npm install` then `npm run build:web`.');
  process.exit(0);
}
await vite.build({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)), logLevel: process.env.CI ? 'info' : 'warn' });
