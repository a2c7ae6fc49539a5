import type { Config } from '../src/config.js';
import { LOBBY_ID } from '../src/infrastructure/db/migrations/2026_11_23_0001_initial.js';
import { HostWatch, watched } from './host-cpu.js';
import type { ConnectResult, FanoutTarget, PhaseResult } from './load-fanout.js';
import type { TypingLoadResult } from './load-typing.js';
import type { CpuTime, MemoryReading } from './probes.js';
import { profiled, startBareServer, startChatServer, type BenchContext, type RunningServer } from './servers.js';
import { issueTokens } from './setup.js';
import type { BenchChild } from './children.js';
import type { BenchRedis } from './redis.js';

export type FanoutServer = 'chat' | 'bare';

export interface FanoutResult {
  server: FanoutServer;
  subscribers: number;
  connect: ConnectResult;
  burst: PhaseResult;
  /** Server CPU time over the burst, divided by the deliveries it made. */
  cpuMicrosPerDelivery: number;
  /** Server CPU time over the burst as a fraction of one core: near 1, the server was the limit. */
  serverBusy: number;
  steady: PhaseResult;
  /** Server memory after GC, before any connection and with every socket subscribed and idle. */
  memoryBefore: MemoryReading;
  memoryIdle: MemoryReading;
  /** The largest RSS during the burst (sampled every 20 ms), bytes; summed over instances. */
  peakRss: number;
  /** --typing: what the typists did and received over the burst and the steady phase; null without. */
  typing: TypingLoadResult | null;
  /** --typing: the server's CPU over the typists' first warm-up cycle, no messages sent, as a fraction of one core. */
  typingAloneBusy: number | null;
  /**
   * How many chat server instances shared the subscribers (sockets round-robin, every send
   * through the first), and what each did over the burst. One entry for a single server.
   */
  instances: InstanceShare[];
  /**
   * Shared Redis (multi-instance runs): its CPU over the burst per message published, µs, less
   * what it spends with no messages at all (redisIdleBusy, a fraction of one core); null without Redis.
   */
  redisMicrosPerMessage: number | null;
  redisIdleBusy: number | null;
}

export interface InstanceShare {
  sockets: number;
  /** CPU over the burst divided by the deliveries made from this instance's sockets. */
  cpuMicrosPerDelivery: number;
  serverBusy: number;
  memoryBefore: MemoryReading;
  memoryIdle: MemoryReading;
}

/** What several instances share: one database and one Redis (bench/instances.ts). */
export interface SharedBackend {
  database: Config['database'];
  redis: BenchRedis;
  instances: number;
}

/**
 * One server, N subscribers of the lobby: memory at idle, a burst of messages
 * back to back, then a steady ~10,000 deliveries/s. Server and load are fresh
 * processes for every N, so no run inherits another's heap. With `shared`, that
 * many chat server instances on one database and Redis take the sockets in turn.
 */
export async function runFanout(ctx: BenchContext, kind: FanoutServer, subscribers: number, typing = false, shared?: SharedBackend): Promise<FanoutResult> {
  // The load's Node starts on its core while the server starts on the other.
  const count = shared?.instances ?? 1;
  const what = `${kind}${typing ? ' with typists' : ''}${shared ? `, ${count} instance${count > 1 ? 's' : ''} + Redis` : ''}, N=${subscribers}`;
  const load = ctx.children.spawn(`fan-out load (${what})`, 'load-fanout.ts', 'load');
  const servers: RunningServer[] = [];
  try {
    const label = `fan-out N=${subscribers}${typing ? ' with typists' : ''}`;
    if (kind === 'bare') servers.push(await startBareServer(ctx, label));
    else if (!shared) servers.push(await startChatServer(ctx, label));
    else {
      // In turn: instances started together against a fresh database would race to migrate it (safely, but noisily).
      for (let i = 0; i < count; i++) servers.push(await startChatServer(ctx, `${label}, instance ${i + 1} of ${count}`, { database: shared.database, redisUrl: shared.redis.url }));
    }
    return await measure(ctx, kind, subscribers, new ServerGroup(servers, shared?.redis ?? null), load, typing);
  } finally {
    await load.kill();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** The servers of one run (and their Redis), read together: CPU summed, memory per instance. */
class ServerGroup {
  constructor(
    readonly servers: RunningServer[],
    readonly redis: BenchRedis | null,
  ) {}

  /** The one every send goes to; also the one --profile cuts windows from. */
  get first(): RunningServer {
    return this.servers[0]!;
  }

  cpus(): Promise<number[]> {
    return Promise.all(this.servers.map(async (server) => (await server.child.call<CpuTime>('cpu')).micros));
  }

  memory(): Promise<MemoryReading[]> {
    return Promise.all(this.servers.map((server) => server.child.call<MemoryReading>('memory')));
  }

  /** All our server-side CPU (instances and Redis), for telling it from other processes'. */
  readonly cpuSource = {
    call: async <T>(): Promise<T> => ({ micros: sum(await this.cpus()) + ((await this.redis?.cpuMicros()) ?? 0) }) as T,
  };
}

/** Window over which Redis's CPU with every socket subscribed and no message is read. */
const REDIS_IDLE_MS = 2_000;

/** Redis's CPU per ms of wall time with everything connected and no message sent; null without Redis. */
async function redisBackground(group: ServerGroup): Promise<number | null> {
  if (!group.redis) return null;
  const before = await group.redis.cpuMicros();
  const startedAt = performance.now();
  await new Promise((resolve) => setTimeout(resolve, REDIS_IDLE_MS));
  return ((await group.redis.cpuMicros()) - before) / (performance.now() - startedAt);
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Memory readings added up over the instances (the total a deployment of them holds). */
function total(readings: MemoryReading[]): MemoryReading {
  return { rss: sum(readings.map((r) => r.rss)), heapUsed: sum(readings.map((r) => r.heapUsed)), external: sum(readings.map((r) => r.external)) };
}

async function measure(ctx: BenchContext, kind: FanoutServer, subscribers: number, group: ServerGroup, load: BenchChild, typing: boolean): Promise<FanoutResult> {
  const { plan } = ctx;
  const server = group.first;
  const tokens = kind === 'chat' ? await issueTokens(server.url, Math.min(subscribers, plan.fanoutUsers)) : [];
  const target: FanoutTarget = { kind, url: server.url, socketUrls: group.servers.map((s) => s.url), roomId: LOBBY_ID, tokens };
  if (typing) {
    // Every typist is a user of their own: a typing set of 50 users would change nothing.
    const every = Math.round(1 / plan.typingShare);
    target.typing = { every, via: plan.typingVia, tokens: await issueTokens(server.url, Math.ceil(subscribers / every)) };
  }
  const memoryBefore = await group.memory();

  ctx.log(`${kind}: connecting ${subscribers} subscribers`);
  const connect = await load.call<ConnectResult>('connect', { target, n: subscribers, concurrency: plan.connectConcurrency }, 240_000);
  if (connect.failed > 0) throw new Error(`${kind}: ${connect.failed} of ${subscribers} sockets failed to connect; first: ${connect.firstError}`);
  const warm = await load.call<{ warmed: number; rounds: number; typingLive: number }>('warmUp', undefined, 60_000);
  if (warm.warmed < subscribers) throw new Error(`${kind}: only ${warm.warmed} of ${subscribers} subscriptions went live after ${warm.rounds} warm-up messages`);
  const typists = target.typing?.tokens.length ?? 0;
  if (warm.typingLive < typists) throw new Error(`${kind}: only ${warm.typingLive} of ${typists} typing subscriptions went live`);
  const memoryIdle = await group.memory();

  // --typing: the typists type through each measurement. The quiet gate counts every busy core as someone
  // else's, so they start after it and stop after each measurement.
  let typingAloneBusy: number | null = null;
  const startTyping = async () => {
    if (!typing) return;
    ctx.log(`${kind}: ${typists} typists type`);
    await load.call('typingStart');
    // Into the rhythm before measuring: every typist has started once, about half type at any moment.
    await new Promise((resolve) => setTimeout(resolve, plan.typingRampMs));
    if (typingAloneBusy !== null) return;
    // The first time, one more cycle with nothing else going on: what typing alone costs the server.
    const title = `chat server, ${typists} typists typing alone, N=${subscribers.toLocaleString('en-US')}`;
    typingAloneBusy = await profiled(ctx, server, title, async () => {
      const before = await server.child.call<CpuTime>('cpu');
      const startedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, plan.typingRampMs));
      const after = await server.child.call<CpuTime>('cpu');
      return (after.micros - before.micros) / 1000 / (performance.now() - startedAt);
    });
  };
  const stopTyping = () => (typing ? load.call('typingPause') : Promise.resolve());

  const messages = plan.burstMessages(subscribers);
  ctx.log(`${kind}: burst of ${messages} messages to ${subscribers} subscribers`);
  await ctx.quiet.wait();
  const redisIdle = await redisBackground(group);
  await startTyping();
  const title = `${kind === 'chat' ? 'chat server' : 'bare ws server'}, fan-out burst N=${subscribers.toLocaleString('en-US')}`;
  let peakRss = 0;
  const { burst, instanceMicros, redisMicros } = await profiled(ctx, server, title, async () => {
    await Promise.all(group.servers.map((s) => s.child.call('peakStart')));
    const before = await group.cpus();
    const redisBefore = (await group.redis?.cpuMicros()) ?? null;
    const host = new HostWatch(sum(before) + (redisBefore ?? 0));
    const burst = await load.call<PhaseResult>('burst', { messages, inFlight: plan.burstInFlight }, 180_000);
    const after = await group.cpus();
    const redisAfter = (await group.redis?.cpuMicros()) ?? null;
    peakRss = sum(await Promise.all(group.servers.map((s) => s.child.call<number>('peakStop'))));
    burst.foreignCores = host.foreignCores(sum(after) + (redisAfter ?? 0), burst.cpuMicros);
    return { burst, instanceMicros: after.map((micros, i) => micros - before[i]!), redisMicros: redisBefore === null || redisAfter === null ? null : redisAfter - redisBefore };
  });
  const serverMicros = sum(instanceMicros);
  await stopTyping();

  const perSecond = plan.steadyDeliveriesPerSec / subscribers;
  ctx.log(`${kind}: steady ${perSecond.toFixed(1)} messages/s for ${plan.steadyMs / 1000} s`);
  const steady = await watched(group.cpuSource, ctx.quiet, () => load.call<PhaseResult>('steady', { perSecond, durationMs: plan.steadyMs }, plan.steadyMs + 60_000), startTyping);
  const typingResult = await load.call<TypingLoadResult | null>('typingStop');
  await load.call('close', undefined, 60_000);

  return {
    server: kind,
    subscribers,
    connect,
    burst,
    cpuMicrosPerDelivery: serverMicros / Math.max(1, burst.delivered),
    serverBusy: serverMicros / 1000 / burst.elapsedMs,
    steady,
    peakRss,
    memoryBefore: total(memoryBefore),
    memoryIdle: total(memoryIdle),
    typing: typingResult,
    typingAloneBusy,
    instances: group.servers.map((_, i) => {
      // Socket j is on instance j % count (load-fanout.ts).
      const sockets = Math.floor(subscribers / group.servers.length) + (i < subscribers % group.servers.length ? 1 : 0);
      const deliveries = (burst.delivered * sockets) / subscribers;
      return {
        sockets,
        cpuMicrosPerDelivery: instanceMicros[i]! / Math.max(1, deliveries),
        serverBusy: instanceMicros[i]! / 1000 / burst.elapsedMs,
        memoryBefore: memoryBefore[i]!,
        memoryIdle: memoryIdle[i]!,
      };
    }),
    // What Redis does whatever the messages (liveness pings, heartbeats, its cron) is taken out.
    redisMicrosPerMessage: redisMicros === null || redisIdle === null ? null : Math.max(0, redisMicros - redisIdle * burst.elapsedMs) / burst.messages,
    redisIdleBusy: redisIdle === null ? null : redisIdle / 1000,
  };
}
