import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp, type App } from '../../src/app.js';
import { DEFAULT_WEBSOCKET_CONFIG, type Config, type WebSocketConfig } from '../../src/config.js';
import { DEFAULT_QUERY_LIMITS } from '../../src/transports/limits/limits-config.js';
import { DEFAULT_OPERATIONS } from '../../src/operations.config.js';

/** The dialect this run tests: PostgreSQL when DATABASE_URL names it, SQLite otherwise. */
export const dialect: 'sqlite' | 'postgres' = process.env.DATABASE_URL?.startsWith('postgres') ? 'postgres' : 'sqlite';
export const redisUrl: string | null = process.env.REDIS_URL ?? null;

export const TEST_SECRET = 'test-secret-that-is-at-least-32-bytes-long!!';

export interface TestServer {
  app: App;
  url: string;
  wsUrl: string;
  config: Config;
  /** Stops the server (idempotent) and drops its database. */
  stop(): Promise<void>;
}

export interface TestDatabase {
  database: Config['database'];
  drop(): Promise<void>;
}

/** A fresh, empty database of the dialect under test: a temp SQLite file or a new PostgreSQL database. */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'chat-test-'));
    return { database: { dialect: 'sqlite', file: join(dir, 'chat.db') }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const admin = new URL(process.env.DATABASE_URL!);
  const name = `chat_test_${randomBytes(6).toString('hex')}`;
  await withClient(admin.toString(), (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    database: { dialect: 'postgres', url: url.toString() },
    drop: () => withClient(admin.toString(), (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Any part of a Config; WebSocket settings may be given one at a time. */
export type ConfigOverrides = Omit<Partial<Config>, 'websocket'> & { websocket?: Partial<WebSocketConfig> };

export function testConfig(overrides: ConfigOverrides = {}): Config {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-data-'));
  return {
    port: 0,
    host: '127.0.0.1',
    database: { dialect: 'sqlite', file: join(dataDir, 'chat.db') },
    redisUrl,
    redisClusterNodes: null,
    jwtSecret: TEST_SECRET,
    dataDir,
    tokenTtlSeconds: 3600,
    allowedOrigins: null,
    logLevel: 'silent',
    presenceTtlSeconds: 30,
    adminToken: null,
    blocklist: null,
    // The suites mint many identities from 127.0.0.1: budgets off, except in the budgets' own tests.
    rateLimits: null,
    trustProxy: 0,
    queryLimits: DEFAULT_QUERY_LIMITS,
    operations: DEFAULT_OPERATIONS,
    ...overrides,
    websocket: { ...DEFAULT_WEBSOCKET_CONFIG, ...overrides.websocket },
  };
}

/**
 * Starts the real server on a free port with a fresh database of the dialect
 * under test. Pass `database` to share one database between servers.
 */
export async function startServer(overrides: ConfigOverrides = {}): Promise<TestServer> {
  const owned = overrides.database ? null : await createTestDatabase();
  const config = testConfig({ ...overrides, database: overrides.database ?? owned!.database });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const app = await buildApp(config, logger);
  await app.start();
  let stopped: Promise<void> | null = null;
  return {
    app,
    url: app.url,
    wsUrl: app.url.replace(/^http/, 'ws'),
    config,
    stop: () =>
      (stopped ??= (async () => {
        await app.stop();
        await owned?.drop();
        rmSync(config.dataDir, { recursive: true, force: true });
      })()),
  };
}
