import { readFileSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WEBSOCKET_CONFIG, loadConfig, type Config } from '../src/config.js';
import { createRoom, issueToken } from './helpers/chat.js';
import { gqlOk } from './helpers/graphql.js';
import { allMessages } from './helpers/pages.js';
import { killSpawned, spawnServer, terminate } from './helpers/processes.js';
import { createTestDatabase, dialect, startServer, testConfig, type ConfigOverrides } from './helpers/server.js';
import { within } from './helpers/wait.js';
import { configProblemsOf } from './helpers/config.js';

describe('readiness', () => {
  it('answers GET /health with 200 {"status":"ok"} once it is serving', async () => {
    const server = await startServer();
    try {
      const response = await fetch(new URL('/health', server.url));
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/application\/json/);
      expect(await response.json()).toEqual({ status: 'ok' });
    } finally {
      await server.stop();
    }
  });
});

describe('stopping with open streams', () => {
  it('completes an open SSE subscription, then closes the port', async () => {
    const server = await startServer();
    const { token } = await issueToken(server.url);
    const room = await createRoom(server.url, token);
    const query = `subscription { messageAdded(roomId: "${room.id}") { body } }`;
    const response = await fetch(`${server.url}?query=${encodeURIComponent(query)}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    });
    const reader = response.body!.getReader();
    await reader.read(); // the stream is open
    const stopped = server.stop();
    let text = '';
    for (;;) {
      const { value, done } = await within(reader.read(), 5_000, 'the SSE stream to end');
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('event: complete');
    await within(stopped, 5_000, 'the server to stop');
    await expect(fetch(new URL('/health', server.url))).rejects.toThrow();
  });
});

describe('configuration from the environment', () => {

  it('runs with nothing set: SQLite in ./data on port 4000, a generated secret, all origins', () => {
    expect(loadConfig({})).toMatchObject({
      port: 4000,
      host: '0.0.0.0',
      database: { dialect: 'sqlite', file: resolve('data', 'chat.db') },
      redisUrl: null,
      jwtSecret: null,
      dataDir: resolve('data'),
      tokenTtlSeconds: 7 * 24 * 3600,
      allowedOrigins: null,
      logLevel: 'info',
      presenceTtlSeconds: 30,
      websocket: DEFAULT_WEBSOCKET_CONFIG,
    });
  });

  it('reads each variable', () => {
    const config = loadConfig({
      PORT: '8080',
      DATA_DIR: '/srv/chat',
      JWT_SECRET: 'x'.repeat(32),
      ALLOWED_ORIGINS: 'https://chat.example.com, http://localhost:5173',
      LOG_LEVEL: 'warn',
      REDIS_URL: 'redis://cache:6379',
    });
    expect(config).toMatchObject({
      port: 8080,
      dataDir: '/srv/chat',
      database: { dialect: 'sqlite', file: '/srv/chat/chat.db' },
      jwtSecret: 'x'.repeat(32),
      allowedOrigins: ['https://chat.example.com', 'http://localhost:5173'],
      logLevel: 'warn',
      redisUrl: 'redis://cache:6379',
    });
    expect(loadConfig({ ALLOWED_ORIGINS: '*' }).allowedOrigins).toBeNull();
  });

  it('uses PostgreSQL when DATABASE_URL names it', () => {
    for (const url of ['postgres://chat@db:5432/chat', 'postgresql://chat@db/chat']) {
      expect(loadConfig({ DATABASE_URL: url }).database).toEqual({ dialect: 'postgres', url, poolSize: 10 });
    }
  });

  it('reports every bad variable at once, naming each', () => {
    const problems = configProblemsOf({
      PORT: 'eighty',
      JWT_SECRET: 'too-short',
      LOG_LEVEL: 'loud',
      ALLOWED_ORIGINS: 'https://ok.example.com, chat.example.com/app',
      DATABASE_URL: 'mysql://db/chat',
    });
    expect(problems).toHaveLength(5);
    for (const [name, detail] of [
      ['PORT', 'eighty'],
      ['JWT_SECRET', '32 bytes'],
      ['LOG_LEVEL', 'loud'],
      ['ALLOWED_ORIGINS', 'chat.example.com/app'],
      ['DATABASE_URL', 'postgres://'],
    ] as const) {
      expect(problems.filter((p) => p.includes(name) && p.includes(detail)), name).toHaveLength(1);
    }
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(/PORT.*eighty/);
    expect(() => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL.*loud/);
  });

  it('refuses ports that are not a plain number from 0 to 65535', () => {
    for (const PORT of ['70000', '-1', '80.5', '1e3', '0x50']) {
      expect(configProblemsOf({ PORT }), PORT).toEqual([expect.stringContaining('PORT')]);
    }
  });

  it('wants a JWT_SECRET of at least 32 bytes', () => {
    expect(configProblemsOf({ JWT_SECRET: 'x'.repeat(31) })).toEqual([expect.stringContaining('JWT_SECRET')]);
    expect(configProblemsOf({ JWT_SECRET: 'x'.repeat(32) })).toEqual([]);
  });
});

describe('running as a process', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await killSpawned();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  afterAll(() => killSpawned());

  /** What an operator would give one server: its own data folder and database. */
  async function operatorConfig(overrides: ConfigOverrides = {}): Promise<Config> {
    const db = dialect === 'postgres' ? await createTestDatabase() : null;
    if (db) cleanups.push(db.drop);
    const config = testConfig({ logLevel: 'info', ...(db ? { database: db.database } : {}), ...overrides });
    cleanups.push(async () => rmSync(config.dataDir, { recursive: true, force: true }));
    return config;
  }

  it('on SIGTERM finishes the requests in flight, exits 0, and keeps every message it confirmed', { timeout: 60_000 }, async () => {
    const config = await operatorConfig();
    const server = await spawnServer(config);
    const alice = await issueToken(server.url);
    const room = await createRoom(server.url, alice.token, 'last orders');

    const attempts = Array.from({ length: 40 }, (_, i) => attemptSend(server.url, alice.token, room.id, `message ${i}`));
    await Promise.race(attempts);
    const exit = await terminate(server);
    const outcomes = await within(Promise.all(attempts), 10_000, 'every request to be answered or refused');

    expect(exit).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('chat server stopped');
    // Each request was either answered properly or never got in: none was cut off or failed with a server error.
    for (const outcome of outcomes) {
      if (outcome.kind === 'refused') continue;
      expect(outcome.kind === 'answered' ? { status: outcome.status, errors: outcome.errors } : outcome).toEqual({ status: 200, errors: undefined });
    }
    const confirmed = outcomes.flatMap((o) => (o.kind === 'answered' && o.messageId ? [o.messageId] : []));
    expect(confirmed.length).toBeGreaterThan(0);

    const restarted = await spawnServer(config);
    const stored = (await allMessages(restarted.url, room.id)).map((m) => m.id);
    expect(stored).toEqual(expect.arrayContaining(confirmed));
    expect(await terminate(restarted)).toEqual({ code: 0, signal: null });
  });

  it('without JWT_SECRET makes a private secret in DATA_DIR once, so tokens outlive a restart', { timeout: 60_000 }, async () => {
    const config = await operatorConfig({ jwtSecret: null });
    const first = await spawnServer(config);
    const secretFile = join(config.dataDir, 'jwt-secret');
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, 'utf8').trim();
    expect(Buffer.byteLength(secret)).toBeGreaterThanOrEqual(32);
    const alice = await issueToken(first.url, { nickname: 'Alice' });
    expect(await terminate(first)).toEqual({ code: 0, signal: null });

    const second = await spawnServer(config);
    expect((await gqlOk(second.url, '{ me { id nickname tag handle } }', {}, alice.token)).me).toEqual(alice.user);
    expect((await createRoom(second.url, alice.token, 'still me')).title).toBe('still me');
    expect(readFileSync(secretFile, 'utf8').trim()).toBe(secret);
    expect(await terminate(second)).toEqual({ code: 0, signal: null });
    expect(first.output() + second.output()).not.toContain(secret);
  });
});

type SendOutcome =
  | { kind: 'answered'; status: number; errors?: unknown; messageId?: string }
  | { kind: 'refused'; error: unknown }
  | { kind: 'cut off'; status: number; error: unknown };

/** A sendMessage that reports what happened instead of throwing: answered, never got in, or cut off mid-answer. */
async function attemptSend(url: string, token: string, roomId: string, body: string): Promise<SendOutcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id } }', variables: { input: { roomId, body } } }),
    });
  } catch (error) {
    return { kind: 'refused', error };
  }
  try {
    const result = (await response.json()) as { data?: { sendMessage?: { id: string } } | null; errors?: unknown };
    return { kind: 'answered', status: response.status, errors: result.errors, messageId: result.data?.sendMessage?.id };
  } catch (error) {
    return { kind: 'cut off', status: response.status, error };
  }
}
