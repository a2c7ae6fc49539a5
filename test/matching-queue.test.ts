import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { userOf } from '../src/identity/user.js';
import type { MatchQueue } from '../src/matching/match-queue.js';
import { InProcessMatchQueue } from '../src/matching/match-queue.memory.js';
import { RedisMatchQueue } from '../src/matching/match-queue.redis.js';
import type { QueuedWaiter } from '../src/matching/matching.js';
import { redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';

/**
 * The queue contract, the same for both implementations: the in-process one
 * always, the Redis one (its Lua scripts) when REDIS_URL is set. "Instances"
 * are queues that share state: one object in process, one Redis otherwise.
 */
interface Implementation {
  name: string;
  /** Queues of `count` instances sharing one state; `ttlMs` is how long an instance counts without renewing. */
  instances(count: number, ttlMs?: number): Promise<MatchQueue[]>;
}

const redisConnections: Redis[] = [];
afterAll(() => redisConnections.forEach((redis) => redis.disconnect()));

const implementations: Implementation[] = [
  {
    name: 'in process',
    async instances(count) {
      const shared = new InProcessMatchQueue();
      return Array.from({ length: count }, () => shared);
    },
  },
  ...(redisUrl
    ? [
        {
          name: 'redis',
          async instances(count: number, ttlMs = 30_000) {
            const namespace = `test-${randomUUID()}`;
            // One connection per instance, as separate processes would have: their scripts really race.
            const queues = Array.from({ length: count }, (_, i) => {
              const redis = new Redis(redisUrl!);
              redisConnections.push(redis);
              return new RedisMatchQueue(redis, namespace, `instance-${i}`, ttlMs);
            });
            // Each counts as alive from its first renewal on, as the service makes sure before queuing anyone.
            await Promise.all(queues.map((queue) => queue.renew([])));
            return queues;
          },
        },
      ]
    : []),
];

let waiters = 0;
/** A waiter of `userId` (one per call: the same user may wait twice) on instance `instanceId`. */
function waiter(userId: string, instanceId = 'instance-0'): QueuedWaiter {
  return { id: `waiter-${++waiters}`, user: userOf(userId, userId, String(waiters % 10_000).padStart(4, '0')), instanceId };
}

for (const implementation of implementations) {
  describe(`match queue: ${implementation.name}`, () => {
    it('takes the oldest waiter of another user, or queues; never the same user', async () => {
      const [queue] = await implementation.instances(1);
      const [alice1, alice2, bob, carol] = [waiter('alice'), waiter('alice'), waiter('bob'), waiter('carol')];
      expect(await queue!.enter('general', alice1, 'tail')).toBeNull();
      expect(await queue!.enter('general', alice2, 'tail')).toBeNull();
      expect(await queue!.enter('general', bob, 'tail')).toEqual(alice1);
      expect(await queue!.enter('general', carol, 'tail')).toEqual(alice2);
      // Empty again: the next one waits.
      expect(await queue!.enter('general', waiter('dave'), 'tail')).toBeNull();
    });

    it('puts a waiter at the head or the tail; rejoining keeps a queued waiter’s place, and is the head otherwise', async () => {
      const [queue] = await implementation.instances(1);
      const [a1, a2, a3] = [waiter('alice'), waiter('alice'), waiter('alice')];
      await queue!.enter('q', a1, 'tail');
      await queue!.enter('q', a2, 'head');
      // Rejoining while queued changes nothing: a2 is first, a1 second, and no one is there twice.
      expect(await queue!.enter('q', a1, 'rejoin')).toBeNull();
      expect(await queue!.enter('q', a2, 'rejoin')).toBeNull();
      // Rejoining when no longer queued: the head.
      expect(await queue!.enter('q', a3, 'rejoin')).toBeNull();
      const taken = [];
      for (const user of ['bob', 'carol', 'dave', 'erin']) taken.push(await queue!.enter('q', waiter(user), 'tail'));
      expect(taken.slice(0, 3)).toEqual([a3, a2, a1]);
      expect(taken[3]).toBeNull();
    });

    it('leave takes a waiter out at once, and says false when someone took it first', async () => {
      const [queue] = await implementation.instances(1);
      const [alice, bob, carol, dave] = [waiter('alice'), waiter('bob'), waiter('carol'), waiter('dave')];
      await queue!.enter('q', alice, 'tail');
      expect(await queue!.leave('q', alice)).toBe(true);
      expect(await queue!.leave('q', alice)).toBe(false);
      // Alice left: Bob waits instead of getting her.
      expect(await queue!.enter('q', bob, 'tail')).toBeNull();
      expect(await queue!.enter('q', carol, 'tail')).toEqual(bob);
      expect(await queue!.leave('q', bob)).toBe(false);
      expect(await queue!.enter('q', dave, 'tail')).toBeNull();
    });

    it('keeps queues apart', async () => {
      const [queue] = await implementation.instances(1);
      const [alice, bob, carol] = [waiter('alice'), waiter('bob'), waiter('carol')];
      await queue!.enter('topic:music', alice, 'tail');
      expect(await queue!.enter('topic:chess', bob, 'tail')).toBeNull();
      expect(await queue!.enter('general', carol, 'tail')).toBeNull();
      expect(await queue!.enter('topic:music', waiter('dave'), 'tail')).toEqual(alice);
    });

    it('is atomic across instances: 200 waiters entering at once on two instances make exactly 100 pairs', async () => {
      const queues = await implementation.instances(2);
      const entering = Array.from({ length: 200 }, (_, i) => waiter(`user-${i}`, `instance-${i % 2}`));
      const results = await Promise.all(entering.map((w, i) => queues[i % 2]!.enter('crowd', w, 'tail')));
      const taken = results.filter((partner): partner is QueuedWaiter => partner !== null);
      // Each pair is one waiter that took and one that was taken, and nobody is in two pairs.
      expect(taken).toHaveLength(100);
      const takers = entering.filter((_, i) => results[i] !== null);
      expect(new Set([...taken.map((w) => w.id), ...takers.map((w) => w.id)]).size).toBe(200);
    });
  });
}

describe.skipIf(!redisUrl)('match queue: redis, instances that stop renewing', () => {
  const redis = implementations.find((implementation) => implementation.name === 'redis')!;

  it('drops the waiters of an instance that stopped renewing where it meets them, and never hands them out', async () => {
    const [live, crashed] = await redis.instances(2, 300);
    const renewing = setInterval(() => void live!.renew(['q']), 50);
    try {
      const ghost = waiter('ghost', 'instance-1');
      await crashed!.enter('q', ghost, 'tail');
      // Still alive within its TTL: its waiter is handed out.
      expect(await live!.enter('q', waiter('bob'), 'tail')).toEqual(ghost);
      const ghostAgain = waiter('ghost', 'instance-1');
      await crashed!.enter('q', ghostAgain, 'tail');
      // Past its TTL without renewing: dropped where met.
      const deadline = Date.now() + 400;
      await until(() => Date.now() > deadline, 1_000, 'the crashed instance’s TTL to pass');
      const carol = waiter('carol');
      expect(await live!.enter('q', carol, 'tail')).toBeNull();
      expect(await live!.leave('q', ghostAgain)).toBe(false);
      expect(await live!.enter('q', waiter('dave'), 'tail')).toEqual(carol);
    } finally {
      clearInterval(renewing);
    }
  });

  it('renew says when this instance had lapsed, so its waiters rejoin; close() withdraws it at once', async () => {
    const [first, second] = await redis.instances(2, 300);
    expect(await first!.renew([])).toBe(false);
    const deadline = Date.now() + 400;
    await until(() => Date.now() > deadline, 1_000, 'the TTL to pass');
    expect(await first!.renew([])).toBe(true);
    expect(await first!.renew([])).toBe(false);

    // A closed instance's waiter counts for nobody, without waiting for its TTL.
    const alice = waiter('alice', 'instance-1');
    await second!.enter('q', alice, 'tail');
    await second!.close();
    expect(await first!.enter('q', waiter('bob'), 'tail')).toBeNull();
  });
});
