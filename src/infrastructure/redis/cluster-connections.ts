import { Cluster } from 'ioredis';
import type { Logger } from '../../logger.js';

/** A Redis Cluster seed node (REDIS_CLUSTER_NODES); the client learns the others from it. */
export interface ClusterSeed {
  host: string;
  port: number;
}

/**
 * The two ioredis Cluster clients an instance holds on a Redis Cluster, like the
 * two connections of connectRedis: one for commands and SPUBLISH (fails fast while
 * a shard is away: callers degrade, the database has the truth), one for sharded
 * subscriptions (ioredis `shardedSubscribers`: one SSUBSCRIBE connection per
 * master, resubscribed after a reconnect or a topology change; it queues while
 * offline). Both retry forever, at most 2 s apart.
 */
export interface RedisClusterConnections {
  command: Cluster;
  subscriber: Cluster;
  close(): void;
}

const RETRY_LOG_INTERVAL_MS = 2_000;
/** At most one slot-map refresh per this long on the subscriber client (see throttleSlotRefresh). */
const SLOT_REFRESH_GAP_MS = 500;

export function connectRedisCluster(seeds: ClusterSeed[], logger: Logger): RedisClusterConnections {
  let closing = false;
  const open = (role: 'command' | 'subscriber') => {
    const cluster = new Cluster(seeds, {
      shardedSubscribers: role === 'subscriber',
      clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      enableOfflineQueue: role === 'subscriber',
      // A dead master's slots answer "connection closed" until it is back or failed over: a few
      // quick retries cover a failover's MOVED, and a send does not hang for long on a dead shard.
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 200,
      maxRedirections: 6,
      // Node connections re-dial a restarted master at the same address without waiting for MOVED.
      clusterNodeRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
      redisOptions: {
        connectionName: `chat-${role}`,
        maxRetriesPerRequest: role === 'subscriber' ? null : 1,
      },
    });
    if (role === 'subscriber') throttleSlotRefresh(cluster, SLOT_REFRESH_GAP_MS);
    let down = false;
    let loggedAt = 0;
    const failed = (error: Error) => {
      if (closing) return;
      down = true;
      // ioredis re-dials a dead master's sharded subscriber as fast as the slot map refreshes:
      // one line every 2 s at most, without a stack (an outage is expected here, not a bug).
      if (Date.now() - loggedAt < RETRY_LOG_INTERVAL_MS) return;
      loggedAt = Date.now();
      logger.warn({ role, error: error.message }, 'redis cluster unreachable; retrying');
    };
    cluster.on('error', failed);
    cluster.on('node error', failed);
    cluster.on('ready', () => {
      if (down) logger.info({ role }, 'redis cluster connection restored');
      down = false;
    });
    return cluster;
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

/**
 * ioredis 5.11 re-dials a dead master's sharded subscriber in a tight loop: the
 * failed connection's end triggers a slot-map refresh, which makes a new
 * subscriber, which fails at once (measured: ~75 rounds and ~0.7 s of CPU per
 * second, for as long as the master is away). Spacing the refreshes bounds that
 * to a couple of rounds a second; a live cluster refreshes far less often anyway.
 * Callers waiting on a deferred refresh get its outcome.
 */
function throttleSlotRefresh(cluster: Cluster, gapMs: number): void {
  const refresh = cluster.refreshSlotsCache.bind(cluster);
  const waiting: ((error?: Error | null) => void)[] = [];
  let last = 0;
  let timer: NodeJS.Timeout | null = null;
  const run = () => {
    timer = null;
    last = Date.now();
    const callbacks = waiting.splice(0);
    refresh(callbacks.length === 0 ? undefined : (error) => callbacks.forEach((callback) => callback(error)));
  };
  cluster.refreshSlotsCache = (callback) => {
    if (callback) waiting.push(callback);
    if (timer) return;
    const wait = last + gapMs - Date.now();
    if (wait <= 0) return run();
    timer = setTimeout(run, wait);
    timer.unref();
  };
}
