import { buildApp, type App } from '../src/app.js';
import type { Config } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { benchConfig } from './config.js';
import { serve } from './ipc.js';
import { probeHandlers } from './probes.js';

/** The chat server under test, in a process of its own (pinned by the orchestrator). */
let app: App | null = null;

serve({
  ...probeHandlers(),
  start: async ({ database, dataDir, redisUrl = null }: { database: Config['database']; dataDir: string; redisUrl?: string | null }) => {
    // Several instances (--only=fanout2) share one Redis; one alone uses the in-process pub/sub.
    const config = { ...benchConfig(database, dataDir), redisUrl };
    app = await buildApp(config, createLogger(config.logLevel));
    await app.start();
    return { url: app.url };
  },
  stop: async () => {
    await app?.stop();
    // After the reply is out; a normal exit is what makes --cpu-prof write its profile.
    setImmediate(() => process.exit(0));
  },
});
