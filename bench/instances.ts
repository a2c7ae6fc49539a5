import { runFanout, type FanoutResult } from './fanout.js';
import { createFreshDatabase, postgresAdminUrl } from './postgres.js';
import { startRedis } from './redis.js';
import type { BenchContext } from './servers.js';

/**
 * `--only=fanout2`: the chat server as a deployment runs it, several instances
 * on one PostgreSQL database and one Redis, the subscribers split across them
 * (socket i on instance i % k) and every message sent through the first. Its
 * ceiling is one instance on the same kind of backend (a fresh database and a
 * fresh redis-server each run) with the same N, so the ratio is what the second
 * instance costs or buys, not what Redis does. On two cores every instance and
 * Redis share the server core (taskset): the figures say what the split costs,
 * and per instance what each would deliver on a core of its own.
 */
export async function runInstances(ctx: BenchContext, subscribers: number, instances: number, onCleanup: (cleanup: () => Promise<void>) => void): Promise<FanoutResult> {
  const database = await createFreshDatabase(postgresAdminUrl());
  onCleanup(database.drop);
  const redis = await startRedis(ctx);
  onCleanup(redis.stop);
  try {
    ctx.log(`fan-out over ${instances} instance${instances > 1 ? 's' : ''} (PostgreSQL, redis-server pid ${redis.pid}), N=${subscribers}`);
    return await runFanout(ctx, 'chat', subscribers, false, { database: { dialect: 'postgres', url: database.url }, redis, instances });
  } finally {
    await redis.stop();
    await database.drop();
  }
}
