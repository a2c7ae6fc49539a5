import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSlot } from '../src/infrastructure/redis/hash-slot.js';
import { createRoom, issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { Cluster, deploymentIdOf, probeUntilLive, range, seqsOf, type Instance } from './helpers/cluster.js';
import { errorCode, gqlOk } from './helpers/graphql.js';
import { ADMIN_TOKEN, banUser, NOTICES, sendNotice, setSlowMode, storedBodies, trySend, unbanUser, type NoticeEvent } from './helpers/moderation.js';
import { allMessages } from './helpers/pages.js';
import { participantCountOf } from './helpers/realtime.js';
import { RedisCluster } from './helpers/redis-cluster.js';
import { dialect, redisUrl } from './helpers/server.js';
import { PARTICIPANTS, setTyping, watchTyping } from './helpers/typing.js';
import { until, within } from './helpers/wait.js';
import { subscribe, type Subscription } from './helpers/ws.js';

const MATCH = 'subscription($topic: String) { matchFound(topic: $topic) { room { id members { id } } partner { id } } }';
interface MatchEvent {
  matchFound: { room: { id: string; members: { id: string }[] }; partner: { id: string } };
}

// Runs with the services suite (REDIS_URL set), on a 3-master Redis Cluster of its own; the shared Redis is never used.
describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out on a Redis Cluster: two instances, REDIS_CLUSTER_NODES', () => {
  const cluster = new Cluster();
  let redis: RedisCluster;
  let namespace: string;
  let a: Instance;
  let b: Instance;
  let users: TestUser[];
  beforeAll(async () => {
    redis = await RedisCluster.start(3);
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: null, redisCluster: redis.seeds, presenceTtlSeconds: 3, env: { ADMIN_TOKEN } });
    namespace = await deploymentIdOf(database);
    users = await Promise.all([issueToken(a.url), issueToken(b.url), issueToken(a.url), issueToken(b.url)]);
  }, 90_000);
  afterAll(async () => {
    await cluster.stop();
    await redis?.stop();
  });

  it('computes hash slots as the cluster does, and each room channel is a shard channel on the one master that owns it', async () => {
    for (const key of ['foo', `${namespace}:room.message:00000000-0000-7000-8000-000000000001`, `{${namespace}:matching}:queue:music`, `{${namespace}:matching}:instances`]) {
      expect(hashSlot(key), key).toBe(await redis.admin(redis.ports[0]!, (node) => node.cluster('KEYSLOT', key)));
    }
    // Rooms until their channels live on at least two different masters, each with a subscriber on both instances.
    const rooms: { id: string; master: number }[] = [];
    while (new Set(rooms.map((room) => room.master)).size < 2) {
      const room = await createRoom(a.url, users[0]!.token);
      rooms.push({ id: room.id, master: await redis.masterOf(`${namespace}:room.message:${room.id}`) });
    }
    const everyone: Subscription<unknown>[] = [];
    for (const room of rooms) {
      const subscribers = [a.messages(users[0]!, room.id), a.messages(users[2]!, room.id), b.messages(users[1]!, room.id)];
      everyone.push(...subscribers);
      await probeUntilLive(b, users[1]!, room.id, subscribers);
      const channel = `${namespace}:room.message:${room.id}`;
      for (const port of redis.ports) {
        const [shardChannels, classic] = await redis.admin(port, async (node) => [(await node.call('PUBSUB', 'SHARDCHANNELS', channel)) as string[], (await node.call('PUBSUB', 'CHANNELS', `${namespace}:*`)) as string[]]);
        // SSUBSCRIBEd on its master only (once per instance, however many subscribers), never broadcast with PUBLISH.
        expect(shardChannels, `node :${port} for the room on :${room.master}`).toEqual(port === room.master ? [channel] : []);
        expect(classic).toEqual([]);
        if (port === room.master) expect(await redis.admin(port, (n) => n.call('PUBSUB', 'SHARDNUMSUB', channel))).toEqual([channel, 2]);
      }
    }
    // The last subscriber gone, each instance lets go of the channel: no room channel is left on any master.
    for (const subscription of everyone) subscription.unsubscribe();
    const roomChannelsLeft = async () =>
      (await Promise.all(redis.ports.map((port) => redis.admin(port, (n) => n.call('PUBSUB', 'SHARDCHANNELS', `${namespace}:room.message:*`) as Promise<string[]>)))).flat();
    await until(async () => (await roomChannelsLeft()).length === 0, 5_000, 'every room channel to be unsubscribed');
  });

  it('delivers messages sent to either instance to subscribers on both, in one order, none missing or doubled', async () => {
    const room = await createRoom(a.url, users[0]!.token);
    const subscribers = [a.messages(users[0]!, room.id), a.messages(users[2]!, room.id), b.messages(users[1]!, room.id), b.messages(users[3]!, room.id)];
    const probe = await probeUntilLive(a, users[0]!, room.id, subscribers);
    const COUNT = 40;
    const sent: SentMessage[] = [];
    let next = 0;
    await Promise.all(
      users.map(async (user) => {
        for (let n = next++; n < COUNT; n = next++) sent.push(await sendMessage((n % 2 === 0 ? a : b).url, user.token, room.id, `message ${n}`));
      }),
    );
    const last = probe.seq + COUNT;
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(range(probe.seq + 1, last));
    await until(() => subscribers.every((s) => seqsOf(s).at(-1)! >= last), 10_000, 'every subscriber to get every message');
    const history = await allMessages(b.url, room.id);
    for (const subscriber of subscribers) {
      const first = seqsOf(subscriber)[0]!;
      expect(seqsOf(subscriber)).toEqual(range(first, last));
      expect(subscriber.received.at(-1)!.messageAdded.body).toBe(history.at(-1)!.body);
    }
  });

  it('counts participants on both instances, lists them, and shows who is typing across instances', async () => {
    const [alice, bob, carol] = users as [TestUser, TestUser, TestUser];
    const room = await createRoom(a.url, alice.token);
    const aliceOnA = a.messages(alice, room.id);
    const bobOnB = b.messages(bob, room.id);
    await probeUntilLive(a, alice, room.id, [aliceOnA, bobOnB]);
    await until(async () => (await participantCountOf(a.url, room.id)) === 2 && (await participantCountOf(b.url, room.id)) === 2, 5_000, 'participantCount 2 on both instances');
    const listed = await gqlOk(b.url, PARTICIPANTS, { id: room.id, first: 10 });
    expect(listed.room.participants.map((u: { id: string }) => u.id).sort()).toEqual([alice.user.id, bob.user.id].sort());

    const counts = b.participantCount(carol, room.id);
    await until(() => counts.received.at(-1)?.participantCount.count === 2, 5_000, 'the live count on B');
    a.messages(carol, room.id);
    await until(() => counts.received.at(-1)?.participantCount.count === 3, 5_000, "Carol's arrival on A counted on B");

    const typingOnA = watchTyping(a.client(alice), room.id);
    expect((await typingOnA.next()).ids).toEqual([]);
    await setTyping(b.url, bob.token, room.id, true);
    expect((await typingOnA.next()).ids).toEqual([bob.user.id]);
    await setTyping(b.url, carol.token, room.id, true);
    expect((await typingOnA.next()).ids).toEqual([bob.user.id, carol.user.id].sort());
    await setTyping(a.url, bob.token, room.id, false);
    expect((await typingOnA.next()).ids).toEqual([carol.user.id]);
  });

  it('pairs matchFound waiters across instances (the queue script keeps its keys in one slot): 10 waiters, 5 pairs', async () => {
    const waiters = await Promise.all(Array.from({ length: 10 }, (_, i) => issueToken((i % 2 === 0 ? a : b).url, { nickname: `Waiter ${i}` })));
    const subscriptions: Subscription<MatchEvent>[] = waiters.map((user, i) => subscribe<MatchEvent>((i % 2 === 0 ? a : b).client(user), MATCH, { topic: 'cluster' }));
    const events = await Promise.all(subscriptions.map((subscription) => subscription.next(20_000)));
    const byRoom = new Map<string, string[]>();
    events.forEach((event, i) => byRoom.set(event.matchFound.room.id, [...(byRoom.get(event.matchFound.room.id) ?? []), waiters[i]!.user.id]));
    expect(byRoom.size).toBe(5);
    for (const [, pair] of byRoom) expect(pair).toHaveLength(2);
    events.forEach((event, i) => expect(event.matchFound.room.members.map((m) => m.id)).toContain(waiters[i]!.user.id));
    await within(Promise.all(subscriptions.map((s) => s.completed)), 5_000, 'every matchFound to complete');
    // The queue and the instances' liveness share the tag {<deployment>:matching}: one slot, one master.
    expect(new Set([`{${namespace}:matching}:queue:cluster`, `{${namespace}:matching}:instances`].map(hashSlot)).size).toBe(1);
  });

  it('slow mode holds across instances (one SET NX PX per room and user), and bans and notices reach both', async () => {
    const [alice, bob, carol] = users as [TestUser, TestUser, TestUser];
    const room = await createRoom(a.url, alice.token);
    await setSlowMode(a.url, room.id, 30);
    await until(async () => (await gqlOk(b.url, 'query($id: ID!) { room(id: $id) { slowModeSeconds } }', { id: room.id })).room.slowModeSeconds === 30, 2_000, 'B to show the slow mode');
    const results = await Promise.all(Array.from({ length: 10 }, (_, n) => trySend(n % 2 === 0 ? a.url : b.url, bob.token, room.id, `bob ${n}`)));
    expect(results.filter((result) => result.data?.sendMessage)).toHaveLength(1);
    expect(results.filter((result) => errorCode(result) === 'RATE_LIMITED')).toHaveLength(9);
    await setSlowMode(b.url, room.id, 0);

    await banUser(a.url, carol.user.id);
    await until(async () => errorCode(await trySend(b.url, carol.token, room.id, 'after the ban')) === 'FORBIDDEN', 1_500, 'B to refuse Carol');
    await unbanUser(b.url, carol.user.id);
    await until(async () => (await trySend(a.url, carol.token, room.id, 'free again')).data?.sendMessage != null, 1_500, 'A to accept Carol again');
    expect(await storedBodies(a.url, room.id)).not.toContain('after the ban');

    const streams = [subscribe<NoticeEvent>(a.client(alice), NOTICES), subscribe<NoticeEvent>(b.client(alice), NOTICES), subscribe<NoticeEvent>(b.client(bob), NOTICES)];
    await until(async () => {
      const probe = await sendNotice(a.url, 'probe');
      await until(() => streams.every((s) => s.received.some((e) => e.notices.id === probe.id)), 300, 'the probe').catch(() => {});
      return streams.every((s) => s.received.some((e) => e.notices.id === probe.id));
    }, 10_000, 'every notices stream to be live');
    await Promise.all(streams.map((s) => s.take(s.received.length)));
    const forAlice = await sendNotice(b.url, 'only Alice', alice.user.id);
    for (const stream of streams.slice(0, 2)) expect((await stream.next()).notices).toEqual(forAlice);
    const forEveryone = await sendNotice(a.url, 'everyone');
    for (const stream of streams) expect((await stream.next()).notices).toEqual(forEveryone);
  });
});
