import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { SoloPresenceCluster, type PresenceCluster } from '../presence/presence.cluster.js';
import { RedisPresenceCluster } from '../presence/presence.redis.js';
import { connectRedis } from './redis/connections.js';
import { InProcessPubSub } from './pubsub/in-process.js';
import type { PubSub } from './pubsub/pubsub.js';
import { RedisPubSubAdapter } from './pubsub/redis.js';

/** What instances share: events and presence. Redis when REDIS_URL is set; this process alone otherwise. */
export interface Cluster {
  pubsub: PubSub;
  presence: PresenceCluster;
  /** null while live delivery works; otherwise why not. */
  problem(): string | null;
  /** Resolves when live delivery works, or after `timeoutMs`: the server starts either way. */
  whenLive(timeoutMs: number): Promise<void>;
}

/** `namespace` (the deployment id) keeps deployments that share one Redis apart. */
export function createCluster(config: Config, namespace: string, logger: Logger): Cluster {
  if (!config.redisUrl) {
    return {
      pubsub: new InProcessPubSub((error) => logger.error({ err: error }, 'pub/sub listener failed')),
      presence: new SoloPresenceCluster(),
      problem: () => null,
      whenLive: async () => {},
    };
  }
  const redis = connectRedis(config.redisUrl, logger);
  const pubsub = new RedisPubSubAdapter(redis, namespace, logger);
  return {
    pubsub,
    presence: new RedisPresenceCluster(redis.command, pubsub, randomUUID(), config.presenceTtlSeconds, namespace),
    problem: () => pubsub.problem,
    whenLive: (timeoutMs) => pubsub.whenLive(timeoutMs),
  };
}
