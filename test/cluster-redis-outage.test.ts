import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { Cluster, pacedSender, probeUntilLive, range, seqsOf, watchHealth, type Instance, type RedisServer } from './helpers/cluster.js';
import { allMessages } from './helpers/pages.js';
import { dialect, redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';

const TOTAL = 250;
const PER_SECOND = 50;

// The shared Redis is never touched: these tests stop and start a redis-server of their own.
describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: Redis failing mid-stream', () => {
  const cluster = new Cluster();
  let redis: RedisServer;
  let a: Instance;
  let b: Instance;
  let users: TestUser[];
  beforeAll(async () => {
    redis = await cluster.startRedis();
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redis.url });
    users = await Promise.all([issueToken(a.url), issueToken(a.url), issueToken(b.url), issueToken(b.url), issueToken(a.url)]);
  }, 60_000);
  afterAll(() => cluster.stop());

  /** How many connections the redis-server has accepted since it started. */
  async function connectionsReceived(server: RedisServer): Promise<number> {
    const stats = await server.admin((admin) => admin.info('stats'));
    return Number(/total_connections_received:(\d+)/.exec(stats)![1]);
  }

  /** A fresh room with two live subscribers on each instance, and the probe they all saw. */
  async function roomWithSubscribers() {
    const room = await createRoom(a.url, users[0]!.token);
    const subscribers = [a.messages(users[0]!, room.id), a.messages(users[1]!, room.id), b.messages(users[2]!, room.id), b.messages(users[3]!, room.id)];
    const probe = await probeUntilLive(b, users[4]!, room.id, subscribers);
    return { room, subscribers, probe };
  }

  /** Every subscriber saw the room's history, as the database has it, from its first event to `last`: each message once, in order. */
  async function expectEveryMessageOnceInOrder(roomId: string, subscribers: ReturnType<Instance['messages']>[], last: number) {
    const history = await allMessages(a.url, roomId);
    expect(history.map((m) => m.seq)).toEqual(range(1, last));
    const bySeq = new Map(history.map((m) => [m.seq, { id: m.id, seq: m.seq, body: m.body }]));
    for (const subscriber of subscribers) {
      const first = seqsOf(subscriber)[0]!;
      expect(subscriber.received.map((e) => e.messageAdded)).toEqual(range(first, last).map((seq) => bySeq.get(seq)));
    }
  }

  /** A message sent now reaches everyone promptly: delivery is live again, not waiting for a later event to reveal a gap. */
  async function expectLiveDelivery(roomId: string, subscribers: ReturnType<Instance['messages']>[]) {
    for (const [target, user] of [[a, users[0]!], [b, users[2]!]] as const) {
      const message = await sendMessage(target.url, user.token, roomId, `live via ${target.name}`);
      await until(() => subscribers.every((s) => seqsOf(s).at(-1) === message.seq), 2_000, `the message sent via ${target.name} to reach every subscriber`);
    }
  }

  it('Redis stopped for 3 s under load: /health says why, then every subscriber still gets every message exactly once, in order', async () => {
    const { room, subscribers, probe } = await roomWithSubscribers();
    const healthOf = [watchHealth(a), watchHealth(b)];
    const sender = pacedSender([a, b], users[4]!, room.id, TOTAL, PER_SECOND);

    await sender.reached(50);
    const sentBeforeOutage = sender.sent.length;
    await redis.kill('SIGKILL');
    for (const instance of [a, b]) {
      const health = await instance.waitForHealth(503, 5_000);
      expect(health.body, instance.name).toEqual({ status: 'unavailable', reason: expect.stringMatching(/redis/) });
    }
    // About 3 s of sending while Redis is away: sending keeps working, the database has the truth.
    await sender.reached(sentBeforeOutage + 3 * PER_SECOND);
    redis = await cluster.startRedis(redis.port);
    const restartedAt = Date.now();
    const sentBeforeRestart = sender.sent.length;

    await Promise.all([a.waitForHealth(200, 5_000), b.waitForHealth(200, 5_000)]);
    // Everything sent during the outage arrives within a few seconds of Redis coming back.
    const lastBeforeRestart = Math.max(...sender.sent.slice(0, sentBeforeRestart).map((m) => m.seq));
    await until(() => subscribers.every((s) => seqsOf(s).at(-1)! >= lastBeforeRestart), 5_000, 'subscribers to catch up after Redis came back');
    const caughtUpAfter = Date.now() - restartedAt;
    expect(caughtUpAfter).toBeLessThan(5_000);

    const sent = await sender.done;
    const last = probe.seq + TOTAL;
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(probe.seq + 1, last));
    await until(() => subscribers.every((s) => seqsOf(s).at(-1)! >= last), 5_000, 'every message to reach every subscriber');
    await expectLiveDelivery(room.id, subscribers);
    await expectEveryMessageOnceInOrder(room.id, subscribers, last + 2);
    // Ready, not ready while Redis was away, ready again, and it stayed so: no flapping once Redis is back.
    for (const health of healthOf) {
      const changes = await health.stop();
      expect(changes.map((c) => c.status), JSON.stringify(changes)).toEqual([200, 503, 200]);
      expect(changes[1]!.body).toEqual({ status: 'unavailable', reason: expect.stringMatching(/redis/) });
    }
    // Each instance came back with its two connections once, and kept them (this check is the fifth connection).
    expect(await connectionsReceived(redis)).toBe(2 * 2 + 1);
  });

  it('pub/sub connections killed by Redis (CLIENT KILL TYPE pubsub) mid-stream: every subscriber still gets every message exactly once, in order', async () => {
    await Promise.all([a.waitForHealth(200, 5_000), b.waitForHealth(200, 5_000)]);
    const { room, subscribers, probe } = await roomWithSubscribers();
    const connectionsBefore = await connectionsReceived(redis);
    await redis.admin(async (admin) => {
      const sender = pacedSender([a, b], users[4]!, room.id, TOTAL, PER_SECOND);
      // Twice, so the second kill lands on connections that were themselves re-established.
      for (const at of [50, 150]) {
        await sender.reached(at);
        const killed = (await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')) as number;
        expect(killed, `pub/sub clients killed at message ${at}`).toBeGreaterThanOrEqual(2);
      }
      const sent = await sender.done;
      const last = probe.seq + TOTAL;
      expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(probe.seq + 1, last));
      await until(() => subscribers.every((s) => seqsOf(s).at(-1)! >= last), 5_000, 'every message to reach every subscriber');
      await Promise.all([a.waitForHealth(200, 5_000), b.waitForHealth(200, 5_000)]);
      await expectLiveDelivery(room.id, subscribers);
      await expectEveryMessageOnceInOrder(room.id, subscribers, last + 2);
    });
    // Each kill cost each instance one reconnection of its subscriber, no more (plus this test's two connections).
    expect((await connectionsReceived(redis)) - connectionsBefore).toBe(2 * 2 + 2);
  });

  it('one instance losing only its publishing connection: what it could not publish still reaches subscribers on the other instance', async () => {
    await Promise.all([a.waitForHealth(200, 5_000), b.waitForHealth(200, 5_000)]);
    const { room, subscribers } = await roomWithSubscribers();
    // A's link to publish drops; B's links, and A's subscriber, never notice.
    await redis.admin(async (admin) => admin.client('KILL', 'ID', await redis.clientIdOf(a, 'chat-command')));
    const unpublished = await sendMessage(a.url, users[0]!.token, room.id, 'sent while A could not publish');
    // Nothing follows it in the room, so no later event can reveal the gap: B must be told.
    await until(() => subscribers.every((s) => seqsOf(s).at(-1) === unpublished.seq), 3_000, 'the message to reach subscribers on both instances');
    await expectLiveDelivery(room.id, subscribers);
    await expectEveryMessageOnceInOrder(room.id, subscribers, unpublished.seq + 2);
  });
});
