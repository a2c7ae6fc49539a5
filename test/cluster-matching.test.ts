import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, type TestUser } from './helpers/chat.js';
import { Cluster, postgresUrl, type Instance } from './helpers/cluster.js';
import { dialect, redisUrl, type TestDatabase } from './helpers/server.js';
import { until, within } from './helpers/wait.js';
import { subscribe, type Subscription } from './helpers/ws.js';
import { seededRandom } from './helpers/random.js';

const MATCH = 'subscription($topic: String) { matchFound(topic: $topic) { room { id kind members { id } } partner { id } } }';
const PRESENCE_TTL_SECONDS = 3;

interface MatchEvent {
  matchFound: { room: { id: string; kind: string; members: { id: string }[] }; partner: { id: string } };
}

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: random matching across two instances', () => {
  const cluster = new Cluster();
  let database: TestDatabase;
  let a: Instance;
  let b: Instance;
  let redis: Redis;
  let namespace: string;
  let users = 0;

  const newUser = (instance: Instance) => issueToken(instance.url, { nickname: `Waiter ${++users}` });
  const waitOn = (instance: Instance, user: TestUser, topic?: string): Subscription<MatchEvent> =>
    subscribe<MatchEvent>(instance.client(user), MATCH, topic === undefined ? {} : { topic });
  /** This deployment's match queues in Redis that hold anyone (an empty list is no key at all). */
  const queueKeys = () => redis.keys(`{${namespace}:matching}:queue:*`);
  /** Instances whose waiters count now, by the expiries they renew. */
  const liveInstances = async () => {
    const now = Date.now();
    const expiries = await redis.hgetall(`{${namespace}:matching}:instances`);
    return Object.values(expiries).filter((expiresAt) => Number(expiresAt) > now).length;
  };

  beforeAll(async () => {
    database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl!, presenceTtlSeconds: PRESENCE_TTL_SECONDS });
    const client = new pg.Client({ connectionString: postgresUrl(database) });
    await client.connect();
    namespace = (await client.query<{ id: string }>('select id from deployment')).rows[0]!.id;
    await client.end();
    redis = new Redis(redisUrl!, { maxRetriesPerRequest: 1 });
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster.stop();
  });

  it('pairs a waiter on one instance with a waiter on the other: both are told, of the same room', async () => {
    const [alice, bob] = await Promise.all([newUser(a), newUser(b)]);
    const aliceWaits = waitOn(a, alice, 'across');
    const bobWaits = waitOn(b, bob, 'across');
    const [onA, onB] = await Promise.all([aliceWaits.next(10_000), bobWaits.next(10_000)]);
    expect(onA.matchFound.partner.id).toBe(bob.user.id);
    expect(onB.matchFound.partner.id).toBe(alice.user.id);
    expect(onA.matchFound.room.id).toBe(onB.matchFound.room.id);
    expect(onA.matchFound.room.members.map((m) => m.id).sort()).toEqual([alice.user.id, bob.user.id].sort());
    await within(Promise.all([aliceWaits.completed, bobWaits.completed]), 5_000, 'both subscriptions to complete');
  });

  it('40 waiters on two instances at once make exactly 20 pairs: each user in one pair, both sides on the same room', async () => {
    const instances = Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b));
    const waiters = await Promise.all(instances.map((instance) => newUser(instance)));
    // All subscribe in one go: the sockets open and the subscriptions arrive at both instances together.
    const subscriptions = waiters.map((user, i) => waitOn(instances[i]!, user));
    const events = await Promise.all(subscriptions.map((subscription) => subscription.next(20_000)));

    const rooms = new Map<string, number[]>();
    events.forEach((event, i) => rooms.set(event.matchFound.room.id, [...(rooms.get(event.matchFound.room.id) ?? []), i]));
    expect(rooms.size).toBe(20);
    for (const [roomId, [one, other, ...more]] of rooms) {
      expect(more, `room ${roomId}`).toEqual([]);
      const [x, y] = [waiters[one!]!, waiters[other!]!];
      expect(events[one!]!.matchFound.partner.id).toBe(y.user.id);
      expect(events[other!]!.matchFound.partner.id).toBe(x.user.id);
      expect(events[one!]!.matchFound.room.members.map((m) => m.id).sort()).toEqual([x.user.id, y.user.id].sort());
    }
    // Each user once: 40 distinct partners.
    expect(new Set(events.map((event) => event.matchFound.partner.id)).size).toBe(40);
    await within(Promise.all(subscriptions.map((subscription) => subscription.completed)), 10_000, 'every subscription to complete');
    expect(subscriptions.map((subscription) => subscription.received.length)).toEqual(Array(40).fill(1));
    expect(await queueKeys()).toEqual([]);
  });

  for (const seed of [1, 2, 3]) {
    it(`waiters leaving at random moments on both instances never pair anyone twice, and no one who stays is stranded (seed ${seed})`, async () => {
      const next = seededRandom(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
      const topic = `churn ${seed}`;
      const stayers = await Promise.all(Array.from({ length: 16 }, (_, i) => newUser(i % 2 === 0 ? a : b)));
      const leavers = await Promise.all(Array.from({ length: 16 }, (_, i) => newUser(i % 2 === 0 ? a : b)));
      const everyone = [...stayers.map((user) => ({ user, stays: true })), ...leavers.map((user) => ({ user, stays: false }))].sort(() => next() - 0.5);

      /** Each user's match, as their client got it. */
      const matches = new Map<string, MatchEvent['matchFound']>();
      const subscriptions: Subscription<MatchEvent>[] = [];
      const wakeOnMatch: (() => void)[] = [];
      const departures: Promise<void>[] = [];
      for (const { user, stays } of everyone) {
        const instance = pick([a, b]);
        const client = instance.client(user);
        const subscription = subscribe<MatchEvent>(client, MATCH, { topic });
        subscriptions.push(subscription);
        subscription.next(60_000).then(
          (event) => {
            matches.set(user.user.id, event.matchFound);
            wakeOnMatch.splice(0).forEach((wake) => wake());
          },
          () => {},
        );
        if (stays) continue;
        // Leave by completing or by closing the socket: at once, a turn later, or once some others are matched.
        const leave = pick([() => subscription.unsubscribe(), () => void client.dispose()]);
        const when = pick(['at once', 'next turn', 'after matches'] as const);
        if (when === 'at once') leave();
        else if (when === 'next turn') departures.push(new Promise<void>((done) => setImmediate(() => (leave(), done()))));
        else {
          const after = Math.floor(next() * 6);
          departures.push(
            new Promise<void>((done) => {
              const check = () => (matches.size >= after ? (leave(), done()) : wakeOnMatch.push(check));
              check();
            }),
          );
        }
      }
      // Matches keep coming while two different users wait, so every "after n matches" leaver leaves.
      await within(Promise.all(departures), 20_000, 'every leaver to leave');
      // Everyone still waiting is one user at most: distinct users waiting on one topic are paired.
      const unmatchedStayers = () => stayers.filter((user) => !matches.has(user.user.id));
      await until(() => unmatchedStayers().length <= 1, 20_000, 'all stayers but one at most to be matched');
      // Newcomers take whoever is left. The last stayer may still pair with a leaver whose leaving had not
      // reached the server yet; a newcomer that is then left alone leaves again.
      for (let newcomers = 0; unmatchedStayers().length > 0; newcomers++) {
        expect(newcomers, 'newcomers needed for the last stayer').toBeLessThan(4);
        const stayer = unmatchedStayers()[0]!;
        const instance = pick([a, b]);
        const newcomer = await newUser(instance);
        const newcomerWaits = waitOn(instance, newcomer, topic);
        await until(() => newcomerWaits.received.length > 0 || matches.has(stayer.user.id), 15_000, 'the newcomer or the last stayer to be matched');
        const event = newcomerWaits.received[0];
        if (!event) {
          newcomerWaits.unsubscribe();
          continue;
        }
        matches.set(newcomer.user.id, event.matchFound);
        // The newcomer is told first; a stayer it took hears of it a moment later, on its own instance.
        const partner = event.matchFound.partner.id;
        if (stayers.some((other) => other.user.id === partner)) await until(() => matches.has(partner), 5_000, 'the stayer to be told');
      }

      // One match per subscription at most; every match between two different users, in a DIRECT room of
      // exactly those two; where both sides were told, told the same room.
      for (const subscription of subscriptions) expect(subscription.received.length).toBeLessThanOrEqual(1);
      for (const [userId, match] of matches) {
        expect(match.partner.id).not.toBe(userId);
        expect(match.room.kind).toBe('DIRECT');
        expect(match.room.members.map((m) => m.id).sort()).toEqual([userId, match.partner.id].sort());
        const partnerSide = matches.get(match.partner.id);
        if (partnerSide) expect([partnerSide.room.id, partnerSide.partner.id]).toEqual([match.room.id, userId]);
      }
      // Two stayers paired were both told (neither left, so nothing could fall between them).
      for (const stayer of stayers) {
        const partner = matches.get(stayer.user.id)!.partner.id;
        if (stayers.some((other) => other.user.id === partner)) {
          await until(() => matches.get(partner)?.partner.id === stayer.user.id, 5_000, `${stayer.user.handle}'s partner to be told`);
        }
      }
      // Nothing is left queued: the leavers' entries went with them.
      await until(async () => (await queueKeys()).length === 0, 5_000, 'the queue to be empty');
      await Promise.all([a.dispose(), b.dispose()]);
    });
  }

  it('a crashed instance’s waiters are never matched: taken within the TTL, the taker waits again; after it, they are dropped', async () => {
    const [alice, carol, dave, erin, frank] = await Promise.all([newUser(b), newUser(a), newUser(a), newUser(a), newUser(a)]);
    // Alice waits on B in two topics; B then dies without a word.
    const early = waitOn(b, alice, 'crash early');
    const late = waitOn(b, alice, 'crash late');
    await until(async () => (await queueKeys()).length === 2, 5_000, 'Alice to be queued twice');
    await b.kill('SIGKILL');

    // Within the TTL, Carol takes Alice off the queue: the offer goes unanswered, and Carol waits again, at the head.
    const carolWaits = waitOn(a, carol, 'crash early');
    const daveWaits = waitOn(a, dave, 'crash early');
    const [forCarol, forDave] = await Promise.all([carolWaits.next(15_000), daveWaits.next(15_000)]);
    expect(forCarol.matchFound.partner.id).toBe(dave.user.id);
    expect(forDave.matchFound.partner.id).toBe(carol.user.id);

    // Once B's liveness has expired, its waiter counts for nobody: dropped where it is met, no offer, no wait.
    await until(async () => (await liveInstances()) === 1, (PRESENCE_TTL_SECONDS + 2) * 1000, "B's liveness to expire");
    const erinWaits = waitOn(a, erin, 'crash late');
    const lateQueue = () => redis.lrange(`{${namespace}:matching}:queue:topic:crash late`, 0, -1);
    await until(async () => (await lateQueue()).length === 1 && (await lateQueue())[0]!.includes(erin.user.id), 5_000, "Alice's entry to be dropped, Erin's queued");
    const frankWaits = waitOn(a, frank, 'crash late');
    const [forErin, forFrank] = await Promise.all([erinWaits.next(2_000), frankWaits.next(2_000)]);
    expect(forErin.matchFound.partner.id).toBe(frank.user.id);
    expect(forFrank.matchFound.partner.id).toBe(erin.user.id);
    expect([early.received, late.received]).toEqual([[], []]);
    await until(async () => (await queueKeys()).length === 0, 5_000, 'the queue to be empty');
  });
});
