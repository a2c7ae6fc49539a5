import type { RedisCommands } from '../infrastructure/redis/connections.js';
import type { ChatPubSub } from '../topics.js';
import type { PresenceCluster } from './presence.cluster.js';
import type { PresenceShare } from './presence.js';


/**
 * Presence shared through Redis: a hash per room (field = instance id, value =
 * that instance's share with its expiry) for a reader that arrives late, and a
 * pub/sub announcement per change so watchers hear it at once. Each MULTI
 * touches the room's one key, so it is one slot on Redis Cluster too.
 */
export class RedisPresenceCluster implements PresenceCluster {
  constructor(
    private readonly redis: RedisCommands,
    private readonly pubsub: ChatPubSub,
    private readonly instanceId: string,
    private readonly ttlSeconds: number,
    /** The deployment id, so deployments sharing one Redis keep apart. */
    private readonly namespace: string,
  ) {}

  private key(roomId: string): string {
    return `${this.namespace}:presence:${roomId}`;
  }

  async announce(roomId: string, userIds: string[], expiresAt: number): Promise<void> {
    const share: PresenceShare = { instanceId: this.instanceId, roomId, userIds, expiresAt };
    const multi = this.redis.multi();
    if (userIds.length === 0) multi.hdel(this.key(roomId), this.instanceId);
    else multi.hset(this.key(roomId), this.instanceId, JSON.stringify(share));
    // The hash outlives every share in it by a little; an abandoned room's key goes away by itself.
    multi.expire(this.key(roomId), this.ttlSeconds * 2);
    await multi.exec();
    await this.pubsub.publish('room.presence', roomId, share);
  }

  async read(roomId: string): Promise<PresenceShare[]> {
    const fields = await this.redis.hgetall(this.key(roomId));
    const shares: PresenceShare[] = [];
    for (const [instanceId, value] of Object.entries(fields)) {
      if (instanceId === this.instanceId) continue;
      try {
        shares.push(JSON.parse(value) as PresenceShare);
      } catch {
        // A share we cannot read counts for nobody; its owner rewrites it within a heartbeat.
      }
    }
    return shares;
  }

  async watch(roomId: string, listener: (share: PresenceShare) => void): Promise<() => Promise<void>> {
    return this.pubsub.subscribe('room.presence', roomId, (share) => {
      if (share.instanceId !== this.instanceId) listener(share);
    });
  }
}
