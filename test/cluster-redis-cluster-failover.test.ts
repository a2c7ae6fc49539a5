import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { Cluster, deploymentIdOf, pacedSender, probeUntilLive, range, seqsOf, watchHealth, type Instance } from './helpers/cluster.js';
import { allMessages } from './helpers/pages.js';
import { RedisCluster } from './helpers/redis-cluster.js';
import { dialect, redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';

const TOTAL = 250;
const PER_SECOND = 50;

// Runs with the services suite (REDIS_URL set), on a 3-master Redis Cluster of its own that it kills a master of.
describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out on a Redis Cluster: a master killed mid-stream and restarted', () => {
  const cluster = new Cluster();
  let redis: RedisCluster;
  let namespace: string;
  let a: Instance;
  let b: Instance;
  let users: TestUser[];
  beforeAll(async () => {
    redis = await RedisCluster.start(3);
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: null, redisCluster: redis.seeds });
    namespace = await deploymentIdOf(database);
    users = await Promise.all([issueToken(a.url), issueToken(a.url), issueToken(b.url), issueToken(b.url), issueToken(a.url)]);
  }, 90_000);
  afterAll(async () => {
    await cluster.stop();
    await redis?.stop();
  });

  /** A fresh room whose channel lives on a master `wanted` accepts, with two live subscribers on each instance. */
  async function roomOn(wanted: (master: number) => boolean) {
    for (;;) {
      const room = await createRoom(a.url, users[0]!.token);
      const master = await redis.masterOf(`${namespace}:room.message:${room.id}`);
      if (!wanted(master)) continue;
      const subscribers = [a.messages(users[0]!, room.id), a.messages(users[1]!, room.id), b.messages(users[2]!, room.id), b.messages(users[3]!, room.id)];
      const probe = await probeUntilLive(b, users[4]!, room.id, subscribers);
      return { room, master, subscribers, probe };
    }
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

  it("SIGKILL of the room's master under load, restarted 3 s later: /health says which shard, then every subscriber on both instances gets every message exactly once, in order", async () => {
    const victim = await roomOn(() => true);
    // A room on another master: its shard never goes away.
    const bystander = await roomOn((master) => master !== victim.master);
    const healthOf = [watchHealth(a), watchHealth(b)];
    const sender = pacedSender([a, b], users[4]!, victim.room.id, TOTAL, PER_SECOND);

    await sender.reached(50);
    await redis.kill(victim.master);
    for (const instance of [a, b]) {
      const health = await instance.waitForHealth(503, 5_000);
      expect(health.body, instance.name).toEqual({ status: 'unavailable', reason: expect.stringContaining(`127.0.0.1:${victim.master}`) });
    }
    // The other shard still carries its room live while the victim's is away.
    const live = await sendMessage(a.url, users[0]!.token, bystander.room.id, 'bystander during the outage');
    await until(() => bystander.subscribers.every((s) => seqsOf(s).at(-1) === live.seq), 3_000, 'the bystander room to stay live');

    // About 3 s of sending while the master is away: sending keeps working, the database has the truth.
    const sentBeforeOutage = sender.sent.length;
    await sender.reached(sentBeforeOutage + 3 * PER_SECOND);
    await redis.restart(victim.master);
    const restartedAt = Date.now();
    const sentBeforeRestart = sender.sent.length;

    await Promise.all([a.waitForHealth(200, 10_000), b.waitForHealth(200, 10_000)]);
    const lastBeforeRestart = Math.max(...sender.sent.slice(0, sentBeforeRestart).map((m) => m.seq));
    await until(() => victim.subscribers.every((s) => seqsOf(s).at(-1)! >= lastBeforeRestart), 10_000, 'subscribers to catch up after the master came back');
    expect(Date.now() - restartedAt).toBeLessThan(10_000);

    const sent = await sender.done;
    const last = victim.probe.seq + TOTAL;
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(victim.probe.seq + 1, last));
    await until(() => victim.subscribers.every((s) => seqsOf(s).at(-1)! >= last), 5_000, 'every message to reach every subscriber');
    // Live again, not waiting for a later event to reveal a gap.
    for (const [target, user] of [[a, users[0]!], [b, users[2]!]] as const) {
      const message = await sendMessage(target.url, user.token, victim.room.id, `live via ${target.name}`);
      await until(() => victim.subscribers.every((s) => seqsOf(s).at(-1) === message.seq), 3_000, `the message sent via ${target.name} to reach every subscriber`);
    }
    await expectEveryMessageOnceInOrder(victim.room.id, victim.subscribers, last + 2);
    await expectEveryMessageOnceInOrder(bystander.room.id, bystander.subscribers, live.seq);
    for (const health of healthOf) {
      const changes = await health.stop();
      expect(changes.map((c) => c.status), JSON.stringify(changes)).toEqual([200, 503, 200]);
    }
  }, 120_000);

  it('sharded subscriber connections killed by every master (CLIENT KILL TYPE pubsub) mid-stream: every subscriber still gets every message exactly once, in order', async () => {
    await Promise.all([a.waitForHealth(200, 10_000), b.waitForHealth(200, 10_000)]);
    const { room, subscribers, probe } = await roomOn(() => true);
    const sender = pacedSender([a, b], users[4]!, room.id, TOTAL, PER_SECOND);
    // Twice, so the second kill lands on connections that were themselves re-established.
    for (const at of [50, 150]) {
      await sender.reached(at);
      const killed = await Promise.all(redis.ports.map((port) => redis.admin(port, (node) => node.call('CLIENT', 'KILL', 'TYPE', 'pubsub') as Promise<number>)));
      // Each instance holds one sharded subscriber per master it has channels on (at least the liveness probe).
      expect(killed.reduce((sum, n) => sum + n, 0), `pub/sub clients killed at message ${at}`).toBeGreaterThanOrEqual(2 * redis.ports.length);
    }
    const sent = await sender.done;
    const last = probe.seq + TOTAL;
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(probe.seq + 1, last));
    await until(() => subscribers.every((s) => seqsOf(s).at(-1)! >= last), 10_000, 'every message to reach every subscriber');
    await Promise.all([a.waitForHealth(200, 10_000), b.waitForHealth(200, 10_000)]);
    const message = await sendMessage(a.url, users[0]!.token, room.id, 'live again');
    await until(() => subscribers.every((s) => seqsOf(s).at(-1) === message.seq), 3_000, 'the message sent after the kills to reach every subscriber');
    await expectEveryMessageOnceInOrder(room.id, subscribers, last + 1);
  }, 120_000);
});
