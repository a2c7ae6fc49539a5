import { rmSync } from 'node:fs';
import { pino } from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../src/app.js';
import type { OperationsConfig } from '../src/operations.config.js';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { GRAPHQL_WS, rawSocket } from './helpers/realtime.js';
import { createTestDatabase, testConfig, type TestDatabase } from './helpers/server.js';
import { until, within } from './helpers/wait.js';

/** A real server whose logger writes JSON lines where the test reads them. */
interface LoggedServer {
  app: App;
  url: string;
  wsUrl: string;
  lines: Record<string, any>[];
  /** Everything logged, as text: for "never appears anywhere". */
  text(): string;
  accessLines(kind: 'http' | 'websocket'): Record<string, any>[];
  stop(): Promise<void>;
}

async function startLoggedServer(operations?: OperationsConfig): Promise<LoggedServer> {
  const database: TestDatabase = await createTestDatabase();
  const config = testConfig({ database: database.database, ...(operations ? { operations } : {}) });
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void raw.push(line) });
  const app = await buildApp(config, logger);
  await app.start();
  const parsed = () => raw.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>);
  return {
    app,
    url: app.url,
    wsUrl: app.url.replace(/^http/, 'ws'),
    get lines() {
      return parsed();
    },
    text: () => raw.join(''),
    accessLines: (kind) => parsed().filter((line) => line.kind === kind),
    stop: async () => {
      await app.stop();
      await database.drop();
      rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}

describe('the access log', () => {
  let server: LoggedServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startLoggedServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
  });
  afterAll(() => server.stop());

  it('writes one line per HTTP request: method, path without query, status, duration, request id; never the token or the body', async () => {
    const room = await createRoom(server.url, alice.token);
    const secretBody = 'the body is nobody else business 7f3a';
    const response = await fetch(`${server.url}?token=query-secret-91b2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({ query: 'mutation($r: ID!, $b: String!) { sendMessage(input: { roomId: $r, body: $b }) { id } }', variables: { r: room.id, b: secretBody } }),
    });
    expect(response.status).toBe(200);
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[\w-]{16}$/);

    await until(() => server.accessLines('http').some((line) => line.requestId === requestId), 5_000, 'the access line');
    const line = server.accessLines('http').find((l) => l.requestId === requestId)!;
    expect(line).toMatchObject({ level: 30, kind: 'http', method: 'POST', path: '/graphql', status: 200, ip: '127.0.0.1', msg: 'http request' });
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
    expect(Object.keys(line).sort()).toEqual(['durationMs', 'hostname', 'ip', 'kind', 'level', 'method', 'msg', 'path', 'pid', 'requestId', 'status', 'time'].sort());

    const everything = server.text();
    expect(everything).not.toContain(alice.token);
    expect(everything).not.toContain('query-secret-91b2');
    expect(everything).not.toContain(secretBody);
  });

  it("keeps a proxy's X-Request-Id and echoes it; one it does not accept is replaced", async () => {
    const given = await fetch(new URL('/health', server.url), { headers: { 'x-request-id': 'lb-4f2a.17' } });
    expect(given.headers.get('x-request-id')).toBe('lb-4f2a.17');
    const odd = await fetch(new URL('/health', server.url), { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    const replaced = odd.headers.get('x-request-id')!;
    expect(replaced).toMatch(/^[\w-]{16}$/);
    await until(() => server.accessLines('http').some((l) => l.requestId === replaced), 5_000, 'the second line');
    expect(server.accessLines('http').find((l) => l.requestId === 'lb-4f2a.17')).toMatchObject({ method: 'GET', path: '/health', status: 200 });
    expect(server.text()).not.toContain('has spaces');
  });

  it('logs failed requests with their status too', async () => {
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(response.status).toBe(400);
    const requestId = response.headers.get('x-request-id');
    await until(() => server.accessLines('http').some((l) => l.requestId === requestId), 5_000, 'the 400 line');
    expect(server.accessLines('http').find((l) => l.requestId === requestId)).toMatchObject({ method: 'POST', path: '/graphql', status: 400 });
  });

  it('writes one line per WebSocket connection when it ends: duration, close code and reason, who closed, the connection id', async () => {
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    await sendMessage(server.url, alice.token, room.id, 'replayed after the seed');
    const upgraded = new Promise<string>((resolve) => {
      const socket = new WebSocket(server.wsUrl, GRAPHQL_WS);
      socket.on('upgrade', (response) => resolve(String(response.headers['x-request-id'])));
      socket.on('open', () => {
        socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${alice.token}` } }));
        socket.on('message', (data) => {
          const message = JSON.parse(String(data)) as { type: string };
          // Acknowledged: subscribe; the replayed seed arrived: leave.
          if (message.type === 'connection_ack') {
            socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription($r: ID!, $a: ID) { messageAdded(roomId: $r, after: $a) { id } }', variables: { r: room.id, a: seed.id } } }));
          } else if (message.type === 'next') socket.close(1000, 'see you');
        });
      });
      socket.on('error', () => {});
    });
    const connectionId = await within(upgraded, 5_000, 'the upgrade');
    expect(connectionId).toMatch(/^[\w-]{16}$/);
    await until(() => server.accessLines('websocket').some((l) => l.requestId === connectionId), 5_000, 'the websocket line');
    const line = server.accessLines('websocket').find((l) => l.requestId === connectionId)!;
    expect(line).toMatchObject({ level: 30, kind: 'websocket', code: 1000, reason: 'see you', closedBy: 'client', ip: '127.0.0.1', msg: 'websocket closed' });
    expect(line.durationMs).toBeGreaterThan(0);
    expect(server.text()).not.toContain(alice.token);
  });

  it('writes a line for an upgrade refused with an HTTP status, with the path and never the query', async () => {
    const wrongPath = server.wsUrl.replace('/graphql', '/chat?token=secret-in-the-query');
    const status = await within(
      new Promise<number>((resolve) => {
        const socket = new WebSocket(wrongPath, GRAPHQL_WS);
        socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
        socket.on('error', () => {});
      }),
      5_000,
      'the refusal',
    );
    expect(status).toBe(404);
    await until(() => server.accessLines('websocket').some((l) => l.msg === 'websocket refused'), 5_000, 'the refusal line');
    const line = server.accessLines('websocket').find((l) => l.msg === 'websocket refused')!;
    expect(line).toMatchObject({ level: 30, kind: 'websocket', path: '/chat', status: 404, ip: '127.0.0.1' });
    expect(line.requestId).toMatch(/^[\w-]{16}$/);
    expect(server.text()).not.toContain('secret-in-the-query');
  });

  it("names the server's own close code when the server closes (4403 for a socket without a token)", async () => {
    const raw = rawSocket(server.wsUrl);
    await raw.opened;
    const before = server.accessLines('websocket').length;
    raw.send({ type: 'connection_init', payload: {} });
    expect((await within(raw.closed, 5_000, 'the close')).code).toBe(4403);
    await until(() => server.accessLines('websocket').length > before, 5_000, 'the websocket line');
    expect(server.accessLines('websocket').at(-1)).toMatchObject({ code: 4403, reason: 'missing token', closedBy: 'server' });
  });
});

describe('ACCESS_LOG=off', () => {
  let server: LoggedServer;
  beforeAll(async () => {
    server = await startLoggedServer({ accessLog: false, metricsToken: null, databaseStartWaitMs: 0 });
  });
  afterAll(() => server.stop());

  it('writes no access lines (and sets no request id)', async () => {
    const response = await fetch(new URL('/health', server.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBeNull();
    const raw = rawSocket(server.wsUrl);
    await raw.opened;
    raw.socket.close(1000);
    await raw.closed;
    // The server's own lines are there (it logs at info); none is an access line.
    expect(server.lines.some((line) => line.msg === 'chat server listening')).toBe(true);
    expect(server.lines.filter((line) => line.kind !== undefined)).toEqual([]);
  });
});
