import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WEBSOCKET_CONFIG, loadConfig, type Config } from '../../src/config.js';
import { DEFAULT_QUERY_LIMITS } from '../../src/transports/limits/limits-config.js';
import { configEnv } from '../helpers/processes.js';
import { testConfig, type ConfigOverrides } from '../helpers/server.js';

// Server processes get their configuration through the environment (helpers/processes.ts): what
// configEnv writes must be what src/config.ts reads, or a process test would run another server.
describe('configEnv (the environment of a test server process)', () => {
  const dataDirs: string[] = [];
  const config = (overrides: ConfigOverrides): Config => {
    const made = testConfig(overrides);
    dataDirs.push(made.dataDir);
    return made;
  };
  /** The config with the WebSocket tuning the environment cannot set left at its default. */
  const asLoaded = (made: Config): Config => ({ ...made, websocket: DEFAULT_WEBSOCKET_CONFIG });
  afterEach(() => {
    for (const dir of dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('reads back as the same Config, every setting given', () => {
    const made = config({
      port: 4321,
      database: { dialect: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/chat_test_x', poolSize: 25 },
      redisUrl: 'redis://127.0.0.1:6390',
      allowedOrigins: ['https://chat.example.com', 'http://localhost:5173'],
      adminToken: 'a'.repeat(40),
      blocklist: ['spam', 'buy now'],
      tokenTtlSeconds: 120,
      presenceTtlSeconds: 5,
      logLevel: 'warn',
      queryLimits: { ...DEFAULT_QUERY_LIMITS, maxDepth: 7, maxCost: 900, maxBodyBytes: 50_000, introspection: false },
      websocket: { keepAliveMs: 500 },
    });
    expect(loadConfig(configEnv(made))).toEqual(asLoaded(made));
  });

  it('reads back as the same Config with the optional settings off', () => {
    const made = config({ port: 4322, redisUrl: null, jwtSecret: null });
    const env = configEnv(made);
    expect(env).not.toHaveProperty('JWT_SECRET');
    expect(env).not.toHaveProperty('REDIS_URL');
    // SQLite in the data folder is the default: nothing names it, as an operator would leave it.
    expect(env).not.toHaveProperty('DATABASE_URL');
    expect(loadConfig(env)).toEqual(asLoaded(made));
  });

  it('names a SQLite file outside the data folder', () => {
    const elsewhere = config({});
    const made = config({ port: 4323, database: { dialect: 'sqlite', file: join(elsewhere.dataDir, 'other.db') } });
    expect(configEnv(made).DATABASE_URL).toBe(`sqlite:${join(elsewhere.dataDir, 'other.db')}`);
    expect(loadConfig(configEnv(made))).toEqual(asLoaded(made));
  });
});
