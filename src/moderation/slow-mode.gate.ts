import { randomUUID } from 'node:crypto';
import type { RedisCommands } from '../infrastructure/redis/connections.js';
import { errorMessage, type Logger } from '../logger.js';

/** A user's turn to send in a slow-mode room: granted (and how to give it back), or how long until it is. */
export type Turn = { granted: true; giveBack: () => void } | { granted: false; retryAfterMs: number };

/**
 * Hands out turns atomically: of two claims of one key at the same moment, on
 * one instance or two, exactly one is granted. A granted turn holds the key for
 * `windowMs`.
 */
export interface SlowModeGate {
  claim(key: string, windowMs: number): Promise<Turn>;
}

/** Past this many held turns, expired ones are swept out (then past twice what is left). */
const SWEEP_AT = 10_000;

/** One instance: a map from key to the end of its turn; check-and-set in one synchronous step. */
export class InProcessSlowModeGate implements SlowModeGate {
  private readonly turns = new Map<string, { until: number }>();
  private sweepAt = SWEEP_AT;

  async claim(key: string, windowMs: number): Promise<Turn> {
    const now = Date.now();
    const held = this.turns.get(key);
    if (held && held.until > now) return { granted: false, retryAfterMs: held.until - now };
    const turn = { until: now + windowMs };
    this.turns.set(key, turn);
    if (this.turns.size >= this.sweepAt) this.sweep(now);
    return {
      granted: true,
      giveBack: () => {
        if (this.turns.get(key) === turn) this.turns.delete(key);
      },
    };
  }

  private sweep(now: number): void {
    for (const [key, turn] of this.turns) if (turn.until <= now) this.turns.delete(key);
    this.sweepAt = Math.max(SWEEP_AT, this.turns.size * 2);
  }
}

/** SET NX PX grants the turn or, if the key is held, PTTL says for how long: one atomic step in Redis. */
const CLAIM = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return redis.call('PTTL', KEYS[1])`;
/** Deletes the turn only if it is still the one this claim took (not a later claim's, after it expired). */
const GIVE_BACK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Every instance: the turn is a Redis key, so two instances cannot both grant
 * it. While Redis is unreachable, sending keeps working and slow mode holds per
 * instance (the in-process gate) until Redis is back.
 */
export class RedisSlowModeGate implements SlowModeGate {
  private readonly fallback = new InProcessSlowModeGate();

  constructor(
    private readonly redis: RedisCommands,
    /** The deployment id, so deployments sharing one Redis keep apart. */
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {}

  async claim(key: string, windowMs: number): Promise<Turn> {
    const redisKey = `${this.namespace}:slowmode:${key}`;
    const token = randomUUID();
    let left: number;
    try {
      left = Number(await this.redis.eval(CLAIM, 1, redisKey, token, windowMs));
    } catch (error) {
      this.logger.warn({ error: errorMessage(error) }, 'slow mode: redis unreachable; holding turns in this instance meanwhile');
      return this.fallback.claim(key, windowMs);
    }
    if (left !== 0) return { granted: false, retryAfterMs: Math.max(left, 1) };
    return {
      granted: true,
      giveBack: () => {
        this.redis.eval(GIVE_BACK, 1, redisKey, token).catch(() => {
          // Not given back: the user waits out the turn, as if the message had been sent.
        });
      },
    };
  }
}
