import { Redis, type Cluster } from 'ioredis';
import type { Logger } from '../../logger.js';

/**
 * What the domains' Redis stores run their commands on: one Redis, or a Redis
 * Cluster (whose every MULTI and script must keep its keys in one hash slot).
 */
export type RedisCommands = Redis | Cluster;

/**
 * The two Redis connections an instance holds: one for commands and publishing,
 * one in subscriber mode (which can do nothing else). Both retry forever, at most
 * 2 s apart, so live delivery is back within 2 s of Redis.
 */
export interface RedisConnections {
  command: Redis;
  subscriber: Redis;
  close(): void;
}

export function connectRedis(url: string, logger: Logger): RedisConnections {
  let closing = false;
  const open = (role: 'command' | 'subscriber') => {
    const connection = new Redis(url, {
      connectionName: `chat-${role}`,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      // A command issued while Redis is away fails at once instead of piling up;
      // callers treat that as "delivery degraded" and the database has the truth.
      maxRetriesPerRequest: role === 'subscriber' ? null : 1,
      enableOfflineQueue: role === 'subscriber',
    });
    let down = false;
    // One line per failed attempt, without a stack: an outage is expected here, not a bug.
    connection.on('error', (error: Error) => {
      if (closing) return;
      down = true;
      logger.warn({ role, error: error.message }, 'redis unreachable; retrying');
    });
    connection.on('ready', () => {
      if (down) logger.info({ role }, 'redis connection restored');
      down = false;
    });
    return connection;
  };
  const command = open('command');
  const subscriber = open('subscriber');
  return {
    command,
    subscriber,
    close() {
      closing = true;
      command.disconnect();
      subscriber.disconnect();
    },
  };
}
