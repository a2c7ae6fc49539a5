import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import { InProcessPubSub } from './in-process.js';
import type { PubSub } from './pubsub.js';

/** Redis when REDIS_URL is set, so instances share events; in-process otherwise. */
export async function createPubSub(config: Config, logger: Logger): Promise<PubSub> {
  if (config.redisUrl) {
    const { RedisPubSubAdapter } = await import('./redis.js');
    return RedisPubSubAdapter.connect(config.redisUrl, logger);
  }
  return new InProcessPubSub((error) => logger.error({ err: error }, 'pub/sub listener failed'));
}
