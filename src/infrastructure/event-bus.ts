import type { Logger } from '../logger.js';
import { InProcessPubSub } from './pubsub/in-process.js';
import type { PubSub, TopicMap } from './pubsub/pubsub.js';
import { RedisPubSubAdapter } from './pubsub/redis.js';
import { connectRedis, type RedisConnections } from './redis/connections.js';

/**
 * How instances share events: Redis when a URL is given, this process alone
 * otherwise. A mechanism only: which topics travel, and what the domains build
 * on it (presence, say), is decided by the composition root (src/wiring.ts).
 */
export interface EventBus<Topics extends TopicMap> {
  pubsub: PubSub<Topics>;
  /** The Redis connections when shared, for state kept beside the events; null in-process. */
  redis: RedisConnections | null;
  /** null while live delivery works; otherwise why not. */
  problem(): string | null;
  /** Resolves when live delivery works, or after `timeoutMs`: the server starts either way. */
  whenLive(timeoutMs: number): Promise<void>;
}

/** `namespace` (the deployment id) keeps deployments that share one Redis apart. */
export function createEventBus<Topics extends TopicMap>(redisUrl: string | null, namespace: string, logger: Logger): EventBus<Topics> {
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
