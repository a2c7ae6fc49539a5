import { LOBBY_ID } from '../src/infrastructure/db/migrations/2026_11_23_0001_initial.js';
import { HostWatch, watched } from './host-cpu.js';
import type { ConnectResult, FanoutTarget, PhaseResult } from './load-fanout.js';
import type { TypingLoadResult } from './load-typing.js';
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
  /** --typing: what the typists did and received over the burst and the steady phase; null without. */
  typing: TypingLoadResult | null;
  /** --typing: the server's CPU over the typists' first warm-up cycle, no messages sent, as a fraction of one core. */
  typingAloneBusy: number | null;
}

/**
 * One server, N subscribers of the lobby: memory at idle, a burst of messages
 * back to back, then a steady ~10,000 deliveries/s. Server and load are fresh
 * processes for every N, so no run inherits another's heap.
 */
export async function runFanout(ctx: BenchContext, kind: FanoutServer, subscribers: number, typing = false): Promise<FanoutResult> {
  // The load's Node starts on its core while the server starts on the other.
  const what = `${kind}${typing ? ' with typists' : ''}, N=${subscribers}`;
  const load = ctx.children.spawn(`fan-out load (${what})`, 'load-fanout.ts', 'load');
  let server: RunningServer | null = null;
  try {
    const label = `fan-out N=${subscribers}${typing ? ' with typists' : ''}`;
    server = kind === 'chat' ? await startChatServer(ctx, label) : await startBareServer(ctx, label);
    return await measure(ctx, kind, subscribers, server, load, typing);
  } finally {
    await load.kill();
    await server?.stop();
  }
}

async function measure(ctx: BenchContext, kind: FanoutServer, subscribers: number, server: RunningServer, load: BenchChild, typing: boolean): Promise<FanoutResult> {
  const { plan } = ctx;
  const tokens = kind === 'chat' ? await issueTokens(server.url, Math.min(subscribers, plan.fanoutUsers)) : [];
  const target: FanoutTarget = { kind, url: server.url, roomId: LOBBY_ID, tokens };
  if (typing) {
    // Every typist is a user of their own: a typing set of 50 users would change nothing.
    const every = Math.round(1 / plan.typingShare);
    target.typing = { every, via: plan.typingVia, tokens: await issueTokens(server.url, Math.ceil(subscribers / every)) };
  }
  const memoryBefore = await server.child.call<MemoryReading>('memory');

  ctx.log(`${kind}: connecting ${subscribers} subscribers`);
  const connect = await load.call<ConnectResult>('connect', { target, n: subscribers, concurrency: plan.connectConcurrency }, 240_000);
  if (connect.failed > 0) throw new Error(`${kind}: ${connect.failed} of ${subscribers} sockets failed to connect; first: ${connect.firstError}`);
  const warm = await load.call<{ warmed: number; rounds: number; typingLive: number }>('warmUp', undefined, 60_000);
  if (warm.warmed < subscribers) throw new Error(`${kind}: only ${warm.warmed} of ${subscribers} subscriptions went live after ${warm.rounds} warm-up messages`);
  const typists = target.typing?.tokens.length ?? 0;
  if (warm.typingLive < typists) throw new Error(`${kind}: only ${warm.typingLive} of ${typists} typing subscriptions went live`);
  const memoryIdle = await server.child.call<MemoryReading>('memory');

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
  await startTyping();
  const title = `${kind === 'chat' ? 'chat server' : 'bare ws server'}, fan-out burst N=${subscribers.toLocaleString('en-US')}`;
  const { burst, serverMicros } = await profiled(ctx, server, title, async () => {
    const before = await server.child.call<CpuTime>('cpu');
    const host = new HostWatch(before.micros);
    const burst = await load.call<PhaseResult>('burst', { messages, inFlight: plan.burstInFlight }, 180_000);
    const after = await server.child.call<CpuTime>('cpu');
    burst.foreignCores = host.foreignCores(after.micros, burst.cpuMicros);
    return { burst, serverMicros: after.micros - before.micros };
  });
  await stopTyping();

  const perSecond = plan.steadyDeliveriesPerSec / subscribers;
  ctx.log(`${kind}: steady ${perSecond.toFixed(1)} messages/s for ${plan.steadyMs / 1000} s`);
  const steady = await watched(server.child, ctx.quiet, () => load.call<PhaseResult>('steady', { perSecond, durationMs: plan.steadyMs }, plan.steadyMs + 60_000), startTyping);
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
    memoryBefore,
    memoryIdle,
    typing: typingResult,
    typingAloneBusy,
  };
}
