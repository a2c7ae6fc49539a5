import type { Logger } from '../logger.js';
import { InProcessPubSub } from './pubsub/in-process.js';
import type { PubSub, TopicMap } from './pubsub/pubsub.js';
import { RedisPubSubAdapter } from './pubsub/redis.js';
import { RedisClusterPubSub } from './pubsub/redis-cluster.js';
import { connectRedisCluster, type ClusterSeed } from './redis/cluster-connections.js';
import { connectRedis, type RedisCommands } from './redis/connections.js';

/** Where events travel: one Redis (a URL), a Redis Cluster (its seed nodes), or neither (this process). */
export interface EventBusTarget {
  redisUrl: string | null;
  redisClusterNodes?: ClusterSeed[] | null;
}

/**
 * How instances share events: Redis when a URL is given, this process alone
 * otherwise. A mechanism only: which topics travel, and what the domains build
 * on it (presence, say), is decided by the composition root (src/wiring.ts).
 */
export interface EventBus<Topics extends TopicMap> {
  pubsub: PubSub<Topics>;
  /** The Redis (or Redis Cluster) command client when shared, for state kept beside the events; null in-process. */
  redis: { command: RedisCommands } | null;
  /** null while live delivery works; otherwise why not. */
  problem(): string | null;
  /** Resolves when live delivery works, or after `timeoutMs`: the server starts either way. */
  whenLive(timeoutMs: number): Promise<void>;
}

/** `namespace` (the deployment id) keeps deployments that share one Redis apart. */
export function createEventBus<Topics extends TopicMap>(target: EventBusTarget, namespace: string, logger: Logger): EventBus<Topics> {
  const { redisUrl, redisClusterNodes } = target;
  if (redisClusterNodes) {
    const cluster = connectRedisCluster(redisClusterNodes, logger);
    const pubsub = new RedisClusterPubSub<Topics>(cluster, namespace, logger);
    return {
      pubsub,
      redis: cluster,
      problem: () => pubsub.problem,
      whenLive: (timeoutMs) => pubsub.whenLive(timeoutMs),
    };
  }
  if (!redisUrl) {
    return {
      pubsub: new InProcessPubSub<Topics>((error) => logger.error({ err: error }, 'pub/sub listener failed')),
      redis: null,
      problem: () => null,
      whenLive: async () => {},
    };
  }
  const redis = connectRedis(redisUrl, logger);
  const pubsub = new RedisPubSubAdapter<Topics>(redis, namespace, logger);
  return {
    pubsub,
    redis,
    problem: () => pubsub.problem,
    whenLive: (timeoutMs) => pubsub.whenLive(timeoutMs),
  };
}
