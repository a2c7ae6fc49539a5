import { DEFAULT_WEBSOCKET_CONFIG, type Config } from '../src/config.js';
import { DEFAULT_OPERATIONS } from '../src/operations.config.js';
import { DEFAULT_QUERY_LIMITS } from '../src/transports/limits/limits-config.js';

export const BENCH_SECRET = 'bench-secret-that-is-at-least-32-bytes-long!';

/**
 * The server as the bench runs it: loopback, in-process pub/sub, quiet logs.
 * Keep-alive pings are pushed past the run (10,000 pings mid-burst would be noise
 * the bare ceiling does not have); the slow-consumer limit and init timeout are
 * raised so a busy load generator is never mistaken for a slow client.
 */
export function benchConfig(database: Config['database'], dataDir: string): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    database,
    redisUrl: null,
    jwtSecret: BENCH_SECRET,
    dataDir,
    tokenTtlSeconds: 3600,
    allowedOrigins: null,
    logLevel: 'error',
    presenceTtlSeconds: 30,
    adminToken: null,
    blocklist: null,
    // Load from one address: no automatic budgets (RATE_LIMITS=off).
    rateLimits: null,
    trustProxy: 0,
    // As `npm start` runs it (NODE_ENV=production): introspection off.
    queryLimits: { ...DEFAULT_QUERY_LIMITS, introspection: false },
    redisClusterNodes: null,
    operations: DEFAULT_OPERATIONS,
    websocket: {
      ...DEFAULT_WEBSOCKET_CONFIG,
      keepAliveMs: 10 * 60_000,
      maxBufferedBytes: 64 * 1024 * 1024,
      maxSubscriptions: 100,
      connectionInitTimeoutMs: 60_000,
    },
  };
}
