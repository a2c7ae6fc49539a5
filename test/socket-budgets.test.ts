import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_RATE_LIMITS } from '../src/transports/budgets/budgets.config.js';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { closeOfClient, GRAPHQL_WS, rawConnection, upgradeRefusal } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { flood, floodFrames, type Flood } from './helpers/socket-flood.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

// The WebSocket budgets with their defaults: upgrades and open sockets per address, open sockets
// per user, and each socket's own frames and operation starts. Timing (a bystander's p99 during a
// flood) is measured by scripts/socket-flood.ts, not asserted here: these tests hold the rules.

const FEED = 'subscription($r: ID!) { messageAdded(roomId: $r) { id seq body } }';

describe('a socket that floods (defaults)', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let mallory: TestUser;
  beforeAll(async () => {
    // The socket budgets at their defaults; the test's own sender may post and create rooms freely.
    const free = { perSecond: 1000, burst: 1000 };
    const operations = { ...DEFAULT_RATE_LIMITS.operations, sendMessageUser: free, sendMessageRoom: free, createRoomUser: free };
    server = await startServer({ rateLimits: { ...DEFAULT_RATE_LIMITS, operations } });
    [alice, bob, mallory] = [await issueToken(server.url), await issueToken(server.url), await issueToken(server.url)];
  });
  afterAll(() => server.stop());

  it.each<[Flood, number]>([
    ['pings', 10_000],
    ['subscribes', 10_000],
    ['churn', 8_000],
  ])('%s ×%i on one socket: that socket is closed 1008 "too many messages"; a bystander receives every message meanwhile', async (kind, count) => {
    const room = await createRoom(server.url, alice.token);
    const bystander = wsClient(server.wsUrl, { authorization: `Bearer ${bob.token}` });
    try {
      const feed = subscribe<{ messageAdded: { body: string } }>(bystander, FEED, { r: room.id });
      await until(async () => {
        await sendMessage(server.url, alice.token, room.id, 'warm-up');
        return feed.received.length > 0;
      }, 5_000, "the bystander's feed to be live");

      const flooder = await rawConnection(server.wsUrl, { authorization: `Bearer ${mallory.token}` });
      const flooding = flood(flooder, floodFrames(kind, count, room.id));
      const sent: string[] = [];
      for (let i = 0; i < 5; i++) sent.push((await sendMessage(server.url, alice.token, room.id, `during ${i}`)).body);
      expect(await flooding).toEqual({ code: 1008, reason: 'too many messages' });
      for (let i = 0; i < 5; i++) sent.push((await sendMessage(server.url, alice.token, room.id, `after ${i}`)).body);
      await until(() => sent.every((body) => feed.received.some((event) => event.messageAdded.body === body)), 5_000, 'every message on the bystander');
      expect(feed.received.filter((event) => event.messageAdded.body !== 'warm-up').map((event) => event.messageAdded.body)).toEqual(sent);
      // The flooder's user may connect again, and is not limited for it elsewhere.
      const again = await rawConnection(server.wsUrl, { authorization: `Bearer ${mallory.token}` });
      again.socket.close();
    } finally {
      await bystander.dispose();
    }
  }, 30_000);

  it('a burst of operation starts is paced, not refused: 100 subscriptions at once (the most a socket holds) all start, and the socket stays open', async () => {
    const room = await createRoom(server.url, alice.token);
    const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${bob.token}` });
    try {
      for (let i = 0; i < 100; i++) raw.send({ id: `s${i}`, type: 'subscribe', payload: { query: FEED, variables: { r: room.id } } });
      // Each is live once a message reaches it; the later ones start a little later (paced).
      const ids = new Set<string>();
      await until(async () => {
        await sendMessage(server.url, alice.token, room.id, 'to all');
        for (let next = await raw.next('next', 500).catch(() => null); next; next = await raw.next('next', 100).catch(() => null)) ids.add(next.id as string);
        return ids.size === 100;
      }, 15_000, 'every subscription to be live');
      expect(raw.socket.readyState).toBe(WebSocket.OPEN);
    } finally {
      raw.socket.close();
    }
  }, 40_000);

  it('a client pinging ten times a second, and keeping its subscriptions, is never closed', async () => {
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${bob.token}` }, { keepAlive: 100 });
    try {
      const room = await createRoom(server.url, alice.token);
      const feed = subscribe<{ messageAdded: { body: string } }>(client, FEED, { r: room.id });
      let closed = false;
      client.on('closed', () => (closed = true));
      await until(async () => {
        await sendMessage(server.url, alice.token, room.id, 'ping-pong');
        return feed.received.length > 0;
      }, 5_000, 'the feed to be live');
      // Ten pings a second for three seconds: half the socket's sustained budget.
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // the client's keepAlive pings meanwhile
      expect(closed).toBe(false);
      await sendMessage(server.url, alice.token, room.id, 'still here');
      await until(() => feed.received.some((event) => event.messageAdded.body === 'still here'), 5_000, 'the message after the pings');
    } finally {
      await client.dispose();
    }
  }, 15_000);
});

describe('open sockets and upgrades (defaults)', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer({ rateLimits: DEFAULT_RATE_LIMITS, trustProxy: 1 });
    alice = await issueToken(server.url);
  });
  afterAll(() => server.stop());

  const openSocket = (forwardedFor: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(server.wsUrl, GRAPHQL_WS, { headers: { 'x-forwarded-for': forwardedFor } });
      socket.once('open', () => resolve(socket));
      socket.once('unexpected-response', (_request, response) => reject(new Error(`HTTP ${response.statusCode}`)));
      socket.once('error', reject);
    });

  it('upgrades per address: a burst past 50 is refused with HTTP 429 and Retry-After, before any socket exists; other addresses still connect', async () => {
    const statuses = await Promise.all(
      Array.from(
        { length: 70 },
        () =>
          new Promise<{ status: number; retryAfter?: string; socket?: WebSocket }>((resolve) => {
            const socket = new WebSocket(server.wsUrl, GRAPHQL_WS, { headers: { 'x-forwarded-for': '192.0.2.10' } });
            socket.once('open', () => resolve({ status: 101, socket }));
            socket.once('unexpected-response', (_request, response) => {
              resolve({ status: response.statusCode ?? 0, retryAfter: response.headers['retry-after'] as string | undefined });
              socket.terminate();
            });
            socket.on('error', () => {});
          }),
      ),
    );
    const refused = statuses.filter((s) => s.status === 429);
    expect(statuses.filter((s) => s.status === 101).length).toBeGreaterThanOrEqual(50);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((s) => Number(s.retryAfter) >= 1)).toBe(true);
    expect(await upgradeRefusal(server.wsUrl, { headers: { 'x-forwarded-for': '192.0.2.10' } })).toBe(429);
    const other = await openSocket('192.0.2.11');
    other.close();
    for (const { socket } of statuses) socket?.close();
  });

  it('open sockets per user: the 21st of one user is closed 1013 (graphql-ws retries it); once one closes, a new one is taken', async () => {
    const sockets = [];
    // Each from an address of its own: this is the per-user cap, not the per-address one.
    for (let i = 0; i < 20; i++) {
      sockets.push(await rawConnection(server.wsUrl, { authorization: `Bearer ${alice.token}` }, { headers: { 'x-forwarded-for': `198.51.100.${i}` } }));
    }
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` }, { lazy: false, retryAttempts: 0, onNonLazyError: () => {} });
    expect(await closeOfClient(client)).toEqual({ code: 1013, reason: 'too many connections for this user' });
    await client.dispose();
    sockets[0]!.socket.close();
    await sockets[0]!.closed;
    const next = await rawConnection(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    for (const raw of [...sockets.slice(1), next]) raw.socket.close();
  });
});

describe('open sockets per address', () => {
  it('past MAX_SOCKETS_PER_IP, an upgrade is refused with 429 until one closes', async () => {
    // The cap lowered to 5 so the test need not open 100 sockets (and wait out the upgrade budget).
    const server = await startServer({ rateLimits: { ...DEFAULT_RATE_LIMITS, socketsPerIp: 5 } });
    try {
      const user = await issueToken(server.url);
      const sockets = [];
      for (let i = 0; i < 5; i++) sockets.push(await rawConnection(server.wsUrl, { authorization: `Bearer ${user.token}` }));
      expect(await upgradeRefusal(server.wsUrl)).toBe(429);
      sockets[0]!.socket.close();
      await sockets[0]!.closed;
      await until(async () => {
        const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${user.token}` }).catch(() => null);
        if (raw) sockets.push(raw);
        return raw !== null;
      }, 5_000, 'a socket to be taken again');
      for (const raw of sockets) raw.socket.close();
    } finally {
      await server.stop();
    }
  });
});

describe('RATE_LIMITS=off (the other suites)', () => {
  it('takes any burst: 300 pings on one socket, 60 upgrades at once', async () => {
    const server = await startServer();
    try {
      const user = await issueToken(server.url);
      const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${user.token}` });
      for (let i = 0; i < 300; i++) raw.send({ type: 'ping' });
      for (let i = 0; i < 300; i++) await raw.next('pong');
      raw.socket.close();
      const sockets = await Promise.all(Array.from({ length: 60 }, () => rawConnection(server.wsUrl, { authorization: `Bearer ${user.token}` })));
      for (const s of sockets) s.socket.close();
    } finally {
      await server.stop();
    }
  });
});
