import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gql } from './helpers/graphql.js';
import { scrape } from './helpers/metrics.js';
import { rawConnection, rawSocket, sseSubscribe } from './helpers/realtime.js';
import type { Config } from '../src/config.js';
import { createTestDatabase, dialect, redisUrl, startServer, type TestServer } from './helpers/server.js';
import { until, within } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ROOM_FEED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id seq body } }';
/** Another subscription field, on the general path (one execution per subscriber). */
const COUNT_FEED = 'subscription($roomId: ID!) { participantCount(roomId: $roomId) { count } }';

/** Polls /metrics until `check` holds for a scrape; the state it reads changes when sockets and streams settle. */
async function scrapeUntil(url: string, check: (s: Awaited<ReturnType<typeof scrape>>) => boolean, what: string) {
  let last = await scrape(url);
  await until(
    async () => check((last = await scrape(url))),
    5_000,
    what,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${last.text.split('\n').filter((l) => l.startsWith('chat_')).join('\n')}`);
  });
  return last;
}

describe('GET /metrics', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    bob = await issueToken(server.url, { nickname: 'Bob' });
  });
  afterAll(() => server.stop());

  it('answers Prometheus text with every named series, the process ones included', async () => {
    const metrics = await scrape(server.url);
    expect(metrics.status).toBe(200);
    for (const name of [
      'chat_websocket_open_sockets',
      'chat_websocket_closes_total',
      'chat_websocket_slow_consumer_closes_total',
      'chat_subscriptions',
      'chat_deliveries_total',
      'chat_fanout_latency_seconds',
      'chat_messages_sent_total',
      'chat_rejections_total',
      'chat_pubsub_resyncs_total',
      'chat_feed_refilled_messages_total',
      'chat_db_pool_connections',
      'chat_message_write_queue',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect(metrics.has(name), name).toBe(true);
    }
    expect(metrics.has('chat_redis_up')).toBe(redisUrl !== null);
    if (redisUrl !== null) expect(metrics.value('chat_redis_up')).toBe(1);
    if (dialect === 'postgres') expect(metrics.value('chat_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    else expect(metrics.value('chat_db_pool_connections', { state: 'total' })).toBeUndefined();
  });

  it('counts a socket while it is open, and its close by code', async () => {
    const before = await scrape(server.url);
    const raw = await rawConnection(server.wsUrl, { token: alice.token });
    await scrapeUntil(server.url, (s) => s.value('chat_websocket_open_sockets') === before.count('chat_websocket_open_sockets') + 1, 'one more open socket');
    raw.socket.close(1000, 'bye');
    await raw.closed;
    const after = await scrapeUntil(server.url, (s) => s.value('chat_websocket_open_sockets') === before.count('chat_websocket_open_sockets'), 'the socket to be counted closed');
    expect(after.count('chat_websocket_closes_total', { code: '1000', by: 'client' })).toBe(before.count('chat_websocket_closes_total', { code: '1000', by: 'client' }) + 1);

    // A close the server sends is counted under its own code when it is sent.
    const anonymous = await rawSocketRefused(server.wsUrl);
    expect(anonymous.code).toBe(4403);
    const refused = await scrapeUntil(server.url, (s) => s.count('chat_websocket_closes_total', { code: '4403', by: 'server' }) === before.count('chat_websocket_closes_total', { code: '4403', by: 'server' }) + 1, 'the 4403 close counted');
    expect(refused.value('chat_websocket_open_sockets')).toBe(before.count('chat_websocket_open_sockets'));
  });

  it('counts a message sent to a subscriber: one send, one delivery, one fan-out latency sample; subscriptions by field', async () => {
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const reader = wsClient(server.wsUrl, { token: bob.token });
    try {
      const before = await scrape(server.url);
      const feed = subscribe<{ messageAdded: { id: string } }>(reader, ROOM_FEED, { roomId: room.id, after: seed.id });
      await scrapeUntil(server.url, (s) => s.count('chat_subscriptions', { field: 'messageAdded' }) === before.count('chat_subscriptions', { field: 'messageAdded' }) + 1, 'the subscription counted');

      const sent = await sendMessage(server.url, alice.token, room.id, 'hello');
      expect((await feed.next()).messageAdded.id).toBe(sent.id);
      const after = await scrapeUntil(server.url, (s) => s.count('chat_deliveries_total') >= before.count('chat_deliveries_total') + 1, 'the delivery counted');
      expect(after.count('chat_messages_sent_total')).toBe(before.count('chat_messages_sent_total') + 1);
      expect(after.count('chat_deliveries_total')).toBe(before.count('chat_deliveries_total') + 1);
      expect(after.count('chat_fanout_latency_seconds_count')).toBe(before.count('chat_fanout_latency_seconds_count') + 1);
      expect(after.count('chat_fanout_latency_seconds_bucket', { le: '+Inf' })).toBe(before.count('chat_fanout_latency_seconds_bucket', { le: '+Inf' }) + 1);

      feed.unsubscribe();
      await scrapeUntil(server.url, (s) => s.count('chat_subscriptions', { field: 'messageAdded' }) === before.count('chat_subscriptions', { field: 'messageAdded' }), 'the subscription uncounted');
    } finally {
      await reader.dispose();
    }
  });

  it('counts general-path subscriptions (SSE) by field until they end', async () => {
    const room = await createRoom(server.url, alice.token);
    const before = await scrape(server.url);
    const counts = sseSubscribe<{ participantCount: { count: number } }>(server.url, COUNT_FEED, { roomId: room.id }, bob.token);
    await counts.ready;
    await counts.next();
    await scrapeUntil(server.url, (s) => s.count('chat_subscriptions', { field: 'participantCount' }) === before.count('chat_subscriptions', { field: 'participantCount' }) + 1, 'the SSE subscription counted');
    counts.close();
    await scrapeUntil(server.url, (s) => s.count('chat_subscriptions', { field: 'participantCount' }) === before.count('chat_subscriptions', { field: 'participantCount' }), 'the SSE subscription uncounted');
  });

  it('counts a history replay as deliveries', async () => {
    const room = await createRoom(server.url, alice.token);
    const first = await sendMessage(server.url, alice.token, room.id, 'one');
    await sendMessage(server.url, alice.token, room.id, 'two');
    await sendMessage(server.url, alice.token, room.id, 'three');
    const before = await scrape(server.url);
    const reader = wsClient(server.wsUrl, { token: bob.token });
    try {
      const feed = subscribe<{ messageAdded: { id: string } }>(reader, ROOM_FEED, { roomId: room.id, after: first.id });
      expect(await feed.take(2)).toHaveLength(2);
      await scrapeUntil(server.url, (s) => s.count('chat_deliveries_total') === before.count('chat_deliveries_total') + 2, 'two replayed deliveries');
    } finally {
      await reader.dispose();
    }
  });

  it('counts refusals of the query limits by rule', async () => {
    const before = await scrape(server.url);
    // The schema is 8 levels deep at most: deeper is past the depth limit (10) whatever the fields.
    const deep = `{ rooms(first: 2) { edges { node { messages(last: 2) { edges { node { sender { id { a { b { c${' }'.repeat(10)} }`;
    expect(errorCode(await gql(server.url, deep))).toBe('BAD_USER_INPUT');
    const aliases = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: rooms(first: 1) { pageInfo { hasNextPage } }`).join(' ')} }`;
    expect(errorCode(await gql(server.url, aliases))).toBe('BAD_USER_INPUT');
    const after = await scrape(server.url);
    expect(after.count('chat_rejections_total', { rule: 'max-depth' })).toBe(before.count('chat_rejections_total', { rule: 'max-depth' }) + 1);
    expect(after.count('chat_rejections_total', { rule: 'max-aliases' })).toBe(before.count('chat_rejections_total', { rule: 'max-aliases' }) + 1);
    // A refusal counts under its own rule only.
    expect(after.count('chat_rejections_total', { rule: 'max-cost' })).toBe(before.count('chat_rejections_total', { rule: 'max-cost' }));
  });
});

describe('slow consumers in /metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ websocket: { maxBufferedBytes: 64 * 1024, keepAliveMs: 60_000 } });
  });
  afterAll(() => server.stop());

  it('counts the 4008 close when it is sent, though the peer reads nothing', { timeout: 60_000 }, async () => {
    const alice = await issueToken(server.url, { nickname: 'Alice' });
    const bob = await issueToken(server.url, { nickname: 'Bob' });
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const frozen = await rawConnection(server.wsUrl, { token: bob.token });
    const copies = 50;
    for (let i = 0; i < copies; i++) {
      frozen.send({ id: `feed-${i}`, type: 'subscribe', payload: { query: ROOM_FEED, variables: { roomId: room.id, after: seed.id } } });
    }
    const probe = await sendMessage(server.url, alice.token, room.id, 'are you there?');
    for (let i = 0; i < copies; i++) expect((await frozen.next('next')).payload.data.messageAdded.id).toBe(probe.id);
    const before = await scrape(server.url);
    (frozen.socket as unknown as { _socket: Socket })._socket.pause();

    // Each message is ~100 KB for the frozen socket: the kernel's buffers fill, then the server's.
    const body = `${'lorem ipsum '.repeat(170)}`.slice(0, 2000);
    let counted = false;
    for (let batch = 0; batch < 40 && !counted; batch++) {
      await Promise.all(Array.from({ length: 10 }, () => sendMessage(server.url, alice.token, room.id, body)));
      const now = await scrape(server.url);
      counted = now.count('chat_websocket_slow_consumer_closes_total') === before.count('chat_websocket_slow_consumer_closes_total') + 1;
    }
    expect(counted).toBe(true);
    const after = await scrape(server.url);
    expect(after.count('chat_websocket_closes_total', { code: '4008', by: 'server' })).toBe(before.count('chat_websocket_closes_total', { code: '4008', by: 'server' }) + 1);
    (frozen.socket as unknown as { _socket: Socket })._socket.resume();
    expect(await within(frozen.closed, 10_000, 'the frozen socket to learn it was closed')).toEqual({ code: 4008, reason: 'slow consumer' });
  });
});

describe('METRICS_TOKEN', () => {
  const token = 'metrics-token-that-is-at-least-32-chars!';
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ operations: { metricsToken: token, accessLog: true, databaseStartWaitMs: 0 } });
  });
  afterAll(() => server.stop());

  it('is asked for: none or another is 401 with a Bearer challenge, the right one gets the metrics', async () => {
    const none = await fetch(new URL('/metrics', server.url));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toContain('chat_');
    expect((await scrape(server.url, `${token}x`)).status).toBe(401);
    expect((await scrape(server.url, token.slice(0, -1))).status).toBe(401);
    const right = await scrape(server.url, token);
    expect(right.status).toBe(200);
    expect(right.has('chat_deliveries_total')).toBe(true);
    // The rest of the port is not behind it.
    expect((await fetch(new URL('/health', server.url))).status).toBe(200);
  });
});

/** A socket whose connection_init carries no token: the server closes it 4403. */
async function rawSocketRefused(wsUrl: string) {
  const raw = rawSocket(wsUrl);
  await raw.opened;
  raw.send({ type: 'connection_init', payload: {} });
  return within(raw.closed, 5_000, 'the 4403 close');
}

describe.runIf(dialect === 'postgres')('DATABASE_POOL_SIZE', () => {
  it('bounds the connections an instance opens: 30 requests at once on a pool of 2 all succeed, on at most 2 connections', async () => {
    const database = await createTestDatabase();
    const server = await startServer({ database: { ...database.database, poolSize: 2 } as Config['database'] });
    try {
      const user = await issueToken(server.url);
      const answers = await Promise.all(Array.from({ length: 30 }, () => gql(server.url, '{ rooms(first: 100) { edges { node { id title } } } }', {}, user.token)));
      expect(answers.filter((answer) => answer.errors)).toEqual([]);
      const metrics = await scrape(server.url);
      expect(metrics.value('chat_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
      expect(metrics.value('chat_db_pool_connections', { state: 'total' })).toBeLessThanOrEqual(2);
    } finally {
      await server.stop();
      await database.drop();
    }
  });
});
