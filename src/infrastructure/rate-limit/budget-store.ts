import type { Cluster, Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { errorMessage, type Logger } from '../../logger.js';

/** A decaying allowance: `perSecond` comes back each second, up to `burst` at once. */
export interface Allowance {
  perSecond: number;
  burst: number;
}

/** Spent, or how long until there is enough again. */
export type Spend = { granted: true } | { granted: false; retryAfterMs: number };

/** One named budget; each key (a user, an address, a room) has its own. */
export interface Budget {
  spend(key: string, points?: number): Promise<Spend>;
}

export interface BudgetStore {
  budget(name: string, allowance: Allowance): Budget;
}

/**
 * Budgets on rate-limiter-flexible, shared by every instance when `redis` is
 * given (one atomic Lua increment per spend) and kept in this process
 * otherwise. While Redis is unreachable each instance counts on its own (the
 * library's insurance limiter), so sending keeps working.
 *
 * The library counts in windows; a decaying budget is its BurstyRateLimiter:
 * a steady limiter of `perSecond` (in whole-second windows, as Redis expires
 * keys) and a burst limiter holding the rest of `burst`, refilled over the
 * time a token bucket of that size takes to refill (`burst / perSecond`). So a
 * key may spend `burst` at once, then `perSecond`; a key over budget is then
 * refused from memory until its window ends, without asking Redis again.
 */
export function createBudgetStore(options: { redis: Redis | Cluster | null; namespace: string; logger: Logger }): BudgetStore {
  const { redis, namespace, logger } = options;
  let degraded = false;

  const limiter = (keyPrefix: string, points: number, duration: number): RateLimiterAbstract => {
    const memory = new RateLimiterMemory({ keyPrefix, points, duration });
    if (!redis) return memory;
    return new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${namespace}:budget:${keyPrefix}`,
      points,
      duration,
      inMemoryBlockOnConsumed: points,
      rejectIfRedisNotReady: true,
      insuranceLimiter: memory,
    });
  };

  return {
    budget(name, allowance) {
      const steadyWindow = Math.max(1, Math.ceil(1 / allowance.perSecond));
      const steadyPoints = Math.min(allowance.burst, Math.max(1, Math.round(allowance.perSecond * steadyWindow)));
      const steady = limiter(name, steadyPoints, steadyWindow);
      const extra = allowance.burst - steadyPoints;
      const rateLimiter =
        extra > 0 ? new BurstyRateLimiter(steady, limiter(`${name}:burst`, extra, Math.max(steadyWindow, Math.ceil(allowance.burst / allowance.perSecond)))) : steady;
      return {
        async spend(key, points = 1) {
          try {
            await rateLimiter.consume(key, points);
            degraded = false;
            return { granted: true };
          } catch (rejection) {
            if (rejection instanceof RateLimiterRes) return { granted: false, retryAfterMs: Math.max(rejection.msBeforeNext, 1) };
            // Neither Redis nor the insurance answered (not expected): let the operation through.
            if (!degraded) logger.warn({ budget: name, error: errorMessage(rejection) }, 'rate budget unavailable; letting operations through');
            degraded = true;
            return { granted: true };
          }
        },
      };
    },
  };
}
