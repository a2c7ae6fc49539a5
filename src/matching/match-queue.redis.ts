import type { RedisCommands } from '../infrastructure/redis/connections.js';
import type { MatchQueue } from './match-queue.js';
import type { QueuedWaiter, QueuePlace } from './matching.js';

/**
 * enter() in one script, so taking a partner or queuing is one atomic step for
 * every instance. A list per queue, oldest first, each entry a waiter as JSON.
 * A waiter whose instance stopped renewing (crashed) is dropped where it is met.
 * The clock is Redis's own, so instances' clocks need not agree.
 */
const ENTER = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
if ARGV[4] == 'rejoin' and redis.call('LPOS', KEYS[1], ARGV[1]) then
  return false
end
for _, entry in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local ok, queued = pcall(cjson.decode, entry)
  local alive = false
  if ok and type(queued) == 'table' and type(queued.user) == 'table' then
    alive = queued.instanceId == ARGV[3] or tonumber(redis.call('HGET', KEYS[2], queued.instanceId) or '0') > now
  end
  if not alive then
    redis.call('LREM', KEYS[1], 1, entry)
  elseif queued.user.id ~= ARGV[2] then
    redis.call('LREM', KEYS[1], 1, entry)
    return entry
  end
end
if ARGV[4] == 'tail' then
  redis.call('RPUSH', KEYS[1], ARGV[1])
else
  redis.call('LPUSH', KEYS[1], ARGV[1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return false
`;

/**
 * This instance is alive until now + TTL: its waiters count. Also forgets
 * instances long gone, and keeps the given queues (which hold this instance's
 * waiters) from expiring. Returns 1 when this instance had lapsed.
 */
const RENEW = `
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2])
local previous = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
redis.call('HSET', KEYS[1], ARGV[1], now + ttl)
local expiries = redis.call('HGETALL', KEYS[1])
for i = 1, #expiries, 2 do
  if tonumber(expiries[i + 1]) <= now then
    redis.call('HDEL', KEYS[1], expiries[i])
  end
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
for i = 2, #KEYS do
  redis.call('PEXPIRE', KEYS[i], ttl * 2)
end
if previous <= now then
  return 1
end
return 0
`;

interface MatchingScripts {
  chatMatchEnter(queueKey: string, instancesKey: string, entry: string, userId: string, instanceId: string, place: QueuePlace, queueTtlMs: number): Promise<string | null>;
  chatMatchRenew(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<number>;
}

/**
 * The queues shared by every instance through Redis. Each instance renews its
 * liveness (an expiry in one hash) a few times per TTL; a waiter of an instance
 * that stopped renewing counts for nobody, so a crashed instance's waiters are
 * never matched and go away when met. Every key is namespaced by deployment and
 * carries one hash tag, so the scripts' keys share a slot on Redis Cluster too.
 */
export class RedisMatchQueue implements MatchQueue {
  readonly renewIntervalMs: number;
  private readonly redis: RedisCommands & MatchingScripts;
  private readonly prefix: string;

  constructor(
    redis: RedisCommands,
    /** The deployment id, so deployments sharing one Redis keep apart. */
    namespace: string,
    private readonly instanceId: string,
    /** How long this instance's waiters outlive its last renewal. */
    private readonly ttlMs: number,
  ) {
    redis.defineCommand('chatMatchEnter', { numberOfKeys: 2, lua: ENTER });
    redis.defineCommand('chatMatchRenew', { lua: RENEW });
    this.redis = redis as RedisCommands & MatchingScripts;
    this.prefix = `{${namespace}:matching}`;
    // Three renewals per TTL: one lost or late renewal does not make the instance look dead.
    this.renewIntervalMs = Math.max(Math.floor(ttlMs / 3), 100);
  }

  async enter(queue: string, waiter: QueuedWaiter, place: QueuePlace): Promise<QueuedWaiter | null> {
    const partner = await this.redis.chatMatchEnter(this.queueKey(queue), this.instancesKey, encode(waiter), waiter.user.id, this.instanceId, place, this.ttlMs * 2);
    return partner === null ? null : (JSON.parse(partner) as QueuedWaiter);
  }

  async leave(queue: string, waiter: QueuedWaiter): Promise<boolean> {
    return (await this.redis.lrem(this.queueKey(queue), 1, encode(waiter))) > 0;
  }

  async renew(queues: string[]): Promise<boolean> {
    const keys = [this.instancesKey, ...queues.map((queue) => this.queueKey(queue))];
    return (await this.redis.chatMatchRenew(keys.length, ...keys, this.instanceId, this.ttlMs)) === 1;
  }

  async close(): Promise<void> {
    await this.redis.hdel(this.instancesKey, this.instanceId);
  }

  private get instancesKey(): string {
    return `${this.prefix}:instances`;
  }

  private queueKey(queue: string): string {
    return `${this.prefix}:queue:${queue}`;
  }
}

/** The waiter as its queue entry: always the same text for the same waiter, so leave() finds it. */
function encode(waiter: QueuedWaiter): string {
  const { id, user, instanceId } = waiter;
  return JSON.stringify({ id, user: { id: user.id, nickname: user.nickname, tag: user.tag, handle: user.handle }, instanceId });
}
