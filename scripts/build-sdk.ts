/**
 * Compiles the SDK (sdk/*.ts) into sdk/dist, which `chat-api/sdk` resolves to
 * in plain Node and in bundlers. Runs in the package's `prepare` script; an
 * install without devDependencies (no TypeScript) skips it with a warning, as
 * web/build.ts does for the web chat: the server does not need it.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

let tsc: string;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  console.warn('SDK not compiled: TypeScript is not installed (an install without devDependencies?). Run `npm install` then `npm run build:sdk`.');
  process.exit(0);
}
execFileSync(process.execPath, [tsc, '-p', fileURLToPath(new URL('../sdk/tsconfig.json', import.meta.url))], { stdio: 'inherit' });
