import type { RedisCommands } from '../infrastructure/redis/connections.js';
import { userOf, type User } from '../identity/user.js';
import type { TypingStore } from './typing.store.js';
import type { Typist } from './typing.js';

/**
 * The typing set shared by every instance: one sorted set per room, member =
 * the user, score = when their typing lapses. Every write drops the lapsed
 * members and renews the key's expiry, so a room nobody types in any more
 * leaves nothing behind. Every MULTI touches the room's one key: one slot on
 * Redis Cluster too.
 */
export class RedisTypingStore implements TypingStore {
  constructor(
    private readonly redis: RedisCommands,
    /** The deployment id, so deployments sharing one Redis keep apart. */
    private readonly namespace: string,
    private readonly lapseMs: number,
  ) {}

  private key(roomId: string): string {
    return `${this.namespace}:typing:${roomId}`;
  }

  async start(roomId: string, user: User, expiresAt: number): Promise<void> {
    const key = this.key(roomId);
    await this.redis
      .multi()
      .zremrangebyscore(key, '-inf', Date.now())
      .zadd(key, expiresAt, memberOf(user))
      // Outlives every member in it (each lapses within lapseMs of its write) by a margin.
      .pexpire(key, this.lapseMs + 1_000)
      .exec();
  }

  async stop(roomId: string, user: User): Promise<boolean> {
    return (await this.redis.zrem(this.key(roomId), memberOf(user))) > 0;
  }

  async read(roomId: string): Promise<Typist[]> {
    const flat = await this.redis.zrangebyscore(this.key(roomId), `(${Date.now()}`, '+inf', 'WITHSCORES');
    const typists: Typist[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const user = userOfMember(flat[i]!);
      if (user) typists.push({ user, expiresAt: Number(flat[i + 1]) });
    }
    return typists;
  }

  close(): void {
    // The connection is the event bus's; it closes it.
  }
}

/** The same user is always the same member (ids, nicknames and tags never change), so a later true replaces the earlier one. */
function memberOf(user: User): string {
  return JSON.stringify([user.id, user.nickname, user.tag]);
}

function userOfMember(member: string): User | null {
  try {
    const [id, nickname, tag] = JSON.parse(member) as unknown[];
    return typeof id === 'string' && typeof nickname === 'string' && typeof tag === 'string' ? userOf(id, nickname, tag) : null;
  } catch {
    // Not ours to read: it lapses with the key.
    return null;
  }
}
