import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { serve } from '../bench/ipc.js';
import { probeHandlers } from '../bench/probes.js';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';

/**
 * One chat server of a drill, in a process of its own. Its configuration comes
 * from an environment, as an operator's would (src/config.ts parses it), so every
 * variable added to the server (RATE_LIMITS, …) applies here too. Besides the
 * bench's probes (CPU, memory after GC) it measures its own event-loop delay.
 */
let app: App | null = null;
let delay: IntervalHistogram | null = null;

export interface EventLoopDelay {
  /** Milliseconds. */
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

const ms = (nanos: number) => Math.round(nanos / 1e4) / 100;

serve({
  ...probeHandlers(),
  start: async ({ env }: { env: Record<string, string> }) => {
    const config = loadConfig({ ...process.env, ...env });
    app = await buildApp(config, createLogger(config.logLevel));
    await app.start();
    delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    return { url: app.url, port: app.port };
  },
  stop: async () => {
    await app?.stop();
    setImmediate(() => process.exit(0));
  },
  /** Starts a new event-loop delay window. */
  resetDelay: () => delay?.reset(),
  /** The event-loop delay since the last resetDelay (or the start). */
  delay: (): EventLoopDelay => {
    if (!delay) throw new Error('not started');
    return { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max), mean: ms(delay.mean) };
  },
  rss: () => process.memoryUsage().rss,
});

// Stopped by PID like the real entry point: a clean stop closes sockets with 1001.
process.once('SIGTERM', () => {
  void (app?.stop() ?? Promise.resolve()).finally(() => process.exit(0));
});
