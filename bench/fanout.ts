import { LOBBY_ID } from '../src/infrastructure/db/migrations/2026_11_23_0001_initial.js';
import { HostWatch, watched } from './host-cpu.js';
import type { ConnectResult, FanoutTarget, PhaseResult } from './load-fanout.js';
import type { CpuTime, MemoryReading } from './probes.js';
import { profiled, startBareServer, startChatServer, type BenchContext, type RunningServer } from './servers.js';
import { issueTokens } from './setup.js';
import type { BenchChild } from './children.js';

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
}

/**
 * One server, N subscribers of the lobby: memory at idle, a burst of messages
 * back to back, then a steady ~10,000 deliveries/s. Server and load are fresh
 * processes for every N, so no run inherits another's heap.
 */
export async function runFanout(ctx: BenchContext, kind: FanoutServer, subscribers: number): Promise<FanoutResult> {
  // The load's Node starts on its core while the server starts on the other.
  const load = ctx.children.spawn(`fan-out load (${kind}, N=${subscribers})`, 'load-fanout.ts', 'load');
  let server: RunningServer | null = null;
  try {
    const label = `fan-out N=${subscribers}`;
    server = kind === 'chat' ? await startChatServer(ctx, label) : await startBareServer(ctx, label);
    return await measure(ctx, kind, subscribers, server, load);
  } finally {
    await load.kill();
    await server?.stop();
  }
}

async function measure(ctx: BenchContext, kind: FanoutServer, subscribers: number, server: RunningServer, load: BenchChild): Promise<FanoutResult> {
  const { plan } = ctx;
  const tokens = kind === 'chat' ? await issueTokens(server.url, Math.min(subscribers, plan.fanoutUsers)) : [];
  const target: FanoutTarget = { kind, url: server.url, roomId: LOBBY_ID, tokens };
  const memoryBefore = await server.child.call<MemoryReading>('memory');

  ctx.log(`${kind}: connecting ${subscribers} subscribers`);
  const connect = await load.call<ConnectResult>('connect', { target, n: subscribers, concurrency: plan.connectConcurrency }, 240_000);
  if (connect.failed > 0) throw new Error(`${kind}: ${connect.failed} of ${subscribers} sockets failed to connect; first: ${connect.firstError}`);
  const warm = await load.call<{ warmed: number; rounds: number }>('warmUp', undefined, 60_000);
  if (warm.warmed < subscribers) throw new Error(`${kind}: only ${warm.warmed} of ${subscribers} subscriptions went live after ${warm.rounds} warm-up messages`);
  const memoryIdle = await server.child.call<MemoryReading>('memory');

  const messages = plan.burstMessages(subscribers);
  ctx.log(`${kind}: burst of ${messages} messages to ${subscribers} subscribers`);
  await ctx.quiet.wait();
  const title = `${kind === 'chat' ? 'chat server' : 'bare ws server'}, fan-out burst N=${subscribers.toLocaleString('en-US')}`;
  const { burst, serverMicros } = await profiled(ctx, server, title, async () => {
    const before = await server.child.call<CpuTime>('cpu');
    const host = new HostWatch(before.micros);
    const burst = await load.call<PhaseResult>('burst', { messages, inFlight: plan.burstInFlight }, 180_000);
    const after = await server.child.call<CpuTime>('cpu');
    burst.foreignCores = host.foreignCores(after.micros, burst.cpuMicros);
    return { burst, serverMicros: after.micros - before.micros };
  });

  const perSecond = plan.steadyDeliveriesPerSec / subscribers;
  ctx.log(`${kind}: steady ${perSecond.toFixed(1)} messages/s for ${plan.steadyMs / 1000} s`);
  const steady = await watched(server.child, ctx.quiet, () => load.call<PhaseResult>('steady', { perSecond, durationMs: plan.steadyMs }, plan.steadyMs + 60_000));
  await load.call('close', undefined, 60_000);

  return {
    server: kind,
    subscribers,
    connect,
    burst,
    cpuMicrosPerDelivery: serverMicros / Math.max(1, burst.delivered),
    serverBusy: serverMicros / 1000 / burst.elapsedMs,
    steady,
    memoryBefore,
    memoryIdle,
  };
}
