import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage } from './helpers/chat.js';
import { Cluster, type RedisServer } from './helpers/cluster.js';
import { scrape } from './helpers/metrics.js';
import { redisUrl, startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ROOM_FEED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id seq } }';

// A redis-server of this file's own: the shared one is never stopped.
describe.skipIf(!redisUrl)('Redis in /metrics', () => {
  const cluster = new Cluster();
  let redis: RedisServer;
  let server: TestServer;
  beforeAll(async () => {
    redis = await cluster.startRedis();
    server = await startServer({ redisUrl: redis.url });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    await cluster.stop();
  });

  it('shows the link down and back, the resync, and the message refilled from the database', { timeout: 60_000 }, async () => {
    const alice = await issueToken(server.url, { nickname: 'Alice' });
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const reader = wsClient(server.wsUrl, { token: alice.token });
    try {
      const feed = subscribe<{ messageAdded: { id: string } }>(reader, ROOM_FEED, { roomId: room.id, after: seed.id });
      const live = await sendMessage(server.url, alice.token, room.id, 'live');
      expect((await feed.next()).messageAdded.id).toBe(live.id);
      const before = await scrape(server.url);
      expect(before.value('chat_redis_up')).toBe(1);

      await redis.kill('SIGKILL');
      await until(async () => (await scrape(server.url)).value('chat_redis_up') === 0, 10_000, 'chat_redis_up 0');
      // Stored while Redis is away: its publish fails, and the feed gets it from the database later.
      const missed = await sendMessage(server.url, alice.token, room.id, 'sent while redis was down');

      redis = await cluster.startRedis(redis.port);
      expect((await feed.next(15_000)).messageAdded.id).toBe(missed.id);
      const after = await scrape(server.url);
      expect(after.value('chat_redis_up')).toBe(1);
      expect(after.count('chat_pubsub_resyncs_total')).toBeGreaterThan(before.count('chat_pubsub_resyncs_total'));
      expect(after.count('chat_feed_refilled_messages_total')).toBe(before.count('chat_feed_refilled_messages_total') + 1);
      expect(after.count('chat_messages_sent_total')).toBe(before.count('chat_messages_sent_total') + 1);
    } finally {
      await reader.dispose();
    }
  });
});
