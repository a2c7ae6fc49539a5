import type { RedisServer } from '../test/helpers/cluster.js';
import { createRoom, freshPostgres, issueSessions, LOBBY_ID, ownRedis, scoped, send, sleep, startLoad, startServer, warningsRow, watchMachine, type DrillContext } from './context.js';
import type { DeliveryCheck, SeqWait } from './load-child.js';
import type { SendReport } from './sender.js';
import { storedMessages } from './storage.js';
import { count, mib, ms } from './table.js';

const RSS_GROWTH_LIMIT = 0.1;
/** How long fds and Redis subscriptions get to come back after the clients leave. */
const SETTLE_MS = 30_000;

interface RedisReading {
  channels: number;
  /** Sum of PUBSUB NUMSUB over every channel, plus pattern subscriptions. */
  subscriptions: number;
  clients: number;
}

async function readRedis(redis: RedisServer): Promise<RedisReading> {
  return redis.admin(async (r) => {
    const channels = (await r.call('PUBSUB', 'CHANNELS')) as string[];
    const numsub = channels.length > 0 ? ((await r.call('PUBSUB', 'NUMSUB', ...channels)) as (string | number)[]) : [];
    let subscriptions = Number(await r.call('PUBSUB', 'NUMPAT'));
    for (let i = 1; i < numsub.length; i += 2) subscriptions += Number(numsub[i]);
    // Minus this admin connection itself.
    const clients = ((await r.call('CLIENT', 'LIST')) as string).trim().split('\n').length - 1;
    return { channels: channels.length, subscriptions, clients };
  });
}

/** Polls `read` until it equals `baseline` or `ms` pass; the last reading either way. */
async function settle<T>(read: () => Promise<T> | T, same: (value: T) => boolean, ms: number): Promise<{ value: T; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (same(value) || Date.now() - started >= ms) return { value, afterMs: Date.now() - started };
    await sleep(500);
  }
}

/**
 * One instance on PostgreSQL and a Redis of its own; N SDK clients over a few
 * rooms and a steady send load for a long stretch. RSS (after full GCs) may not
 * grow by more than 10% after the warm-up; once every client has left, the
 * server's file descriptors and its Redis subscriptions are back where they started.
 */
export async function soakDrill(ctx: DrillContext): Promise<void> {
  const { clients, rooms, perSecond, warmupMs, durationMs, sampleEveryMs } = ctx.plan.soak;
  const row = (figure: string, value: string, target?: string, pass?: boolean) => ctx.rows.push({ drill: 'soak', figure, value, target, pass });
  await scoped(async (defer) => {
    const database = await freshPostgres(ctx);
    const redis = await ownRedis(ctx);
    const server = await startServer(ctx, 'soak', { databaseUrl: database.url, redisUrl: redis.url });
    defer(() => server.stop());
    const sessions = await issueSessions(server.url, 50);
    const roomIds = [LOBBY_ID];
    for (let i = 1; i < rooms; i++) roomIds.push(await createRoom(server.url, sessions[0]!, `soak ${i}`));
    const starts = await Promise.all(roomIds.map((roomId) => send(server.url, sessions[0]!, roomId, 'drill: soak starts after this')));
    await sleep(2_000);
    const baseline = { fds: server.fds(), redis: await readRedis(redis), rss: await server.rssAfterGc() };
    ctx.log(`soak: baseline fds ${baseline.fds}, redis ${JSON.stringify(baseline.redis)}, rss ${mib(baseline.rss)}`);

    const load = startLoad(ctx, 'soak');
    defer(() => load.kill());
    await load.call('balancer', { backends: [server.port] });
    await load.call('open', { count: clients, sessions, rooms: roomIds.map((roomId, i) => ({ roomId, after: starts[i]!.id })), timeoutMs: 120_000 }, 180_000);
    const probes = await Promise.all(roomIds.map((roomId) => send(server.url, sessions[1]!, roomId, 'drill: probe')));
    const live = await load.call<SeqWait>('waitSeq', { seqs: Object.fromEntries(probes.map((p, i) => [roomIds[i]!, p.seq])), since: Date.now(), timeoutMs: 20_000 }, 30_000);
    if (live.missing > 0) throw new Error(`${live.missing} of ${clients} clients not live`);
    const loaded = { fds: server.fds(), redis: await readRedis(redis) };

    await load.call('startSender', { url: server.url, session: sessions[2], roomIds, perSecond });
    ctx.log(`soak: ${clients} clients in ${rooms} rooms, ${perSecond} sends/s; warm-up ${warmupMs / 1000} s, then ${durationMs / 1000} s`);
    await sleep(warmupMs);
    const machine = watchMachine();
    const warm = await server.rssAfterGc();
    const samples: { at: number; rss: number; fds: number }[] = [];
    const soakStarted = Date.now();
    while (Date.now() - soakStarted < durationMs) {
      await sleep(Math.min(sampleEveryMs, durationMs - (Date.now() - soakStarted)));
      samples.push({ at: Date.now() - soakStarted, rss: await server.rssAfterGc(), fds: server.fds() });
      ctx.log(`soak: +${Math.round((Date.now() - soakStarted) / 1000)} s rss ${mib(samples.at(-1)!.rss)} fds ${samples.at(-1)!.fds}`);
    }
    const end = samples.at(-1)?.rss ?? warm;
    const peak = Math.max(warm, ...samples.map((s) => s.rss));
    const report = await load.call<SendReport>('stopSender', undefined, 60_000);
    const machineText = machine();

    const lastSeqs: Record<string, number> = {};
    const ranges: Record<string, { from: number; to: number }> = {};
    for (const [i, roomId] of roomIds.entries()) {
      const stored = await storedMessages(database.url, roomId, starts[i]!.seq + 1);
      lastSeqs[roomId] = stored.at(-1)?.seq ?? starts[i]!.seq;
      ranges[roomId] = { from: starts[i]!.seq + 1, to: lastSeqs[roomId]! };
    }
    await load.call<SeqWait>('waitSeq', { seqs: lastSeqs, since: Date.now(), timeoutMs: 20_000 }, 30_000);
    const delivery = await load.call<DeliveryCheck>('check', { ranges });
    await load.call('closeClients', undefined, 60_000);
    await load.call('closeSender');
    const fds = await settle(() => server.fds(), (n) => n <= baseline.fds, SETTLE_MS);
    const redisAfter = await settle(() => readRedis(redis), (r) => r.subscriptions <= baseline.redis.subscriptions && r.channels <= baseline.redis.channels, SETTLE_MS);
    const growth = (end - warm) / warm;

    row('clients / rooms / sends per s / length', `${count(clients)} / ${rooms} / ${perSecond} / ${ms(durationMs)} after ${ms(warmupMs)} warm-up`);
    row('sends acknowledged / failed / not started', `${count(report.acked.length)} / ${count(report.failed.length)} / ${count(report.skipped)}`, 'failed = 0', report.failed.length === 0 && report.skipped === 0);
    const latency = report.acked.map((a) => a.latencyMs).sort((x, y) => x - y);
    row('send latency p50 / p99 / max', `${ms(latency[Math.floor(latency.length / 2)] ?? NaN)} / ${ms(latency[Math.floor(latency.length * 0.99)] ?? NaN)} / ${ms(latency.at(-1) ?? NaN)}`);
    row('lost / doubled / out of order (sum over clients)', `${delivery.lost} / ${delivery.doubled} / ${delivery.outOfOrder}`, '= 0', delivery.lost + delivery.doubled + delivery.outOfOrder === 0);
    row('reconnects; SDK gap fills', `${delivery.reconnects}; ${delivery.gapFills}`);
    row('RSS after GC: idle / after warm-up / end / peak', `${mib(baseline.rss)} / ${mib(warm)} / ${mib(end)} / ${mib(peak)}`);
    row('RSS growth after warm-up', `${(growth * 100).toFixed(1)}%`, `< ${RSS_GROWTH_LIMIT * 100}%`, growth < RSS_GROWTH_LIMIT);
    row('fds: baseline / with clients / after they left', `${baseline.fds} / ${loaded.fds} / ${fds.value} (after ${ms(fds.afterMs)})`, '≤ baseline', fds.value <= baseline.fds);
    row(
      'Redis channels, subscriptions: baseline / with clients / after',
      `${baseline.redis.channels},${baseline.redis.subscriptions} / ${loaded.redis.channels},${loaded.redis.subscriptions} / ${redisAfter.value.channels},${redisAfter.value.subscriptions}`,
      '≤ baseline',
      redisAfter.value.subscriptions <= baseline.redis.subscriptions && redisAfter.value.channels <= baseline.redis.channels,
    );
    row('Redis clients: baseline / after', `${baseline.redis.clients} / ${redisAfter.value.clients}`, '≤ baseline', redisAfter.value.clients <= baseline.redis.clients);
    row('machine during the soak', machineText);
    warningsRow(ctx, 'soak', server, '');
    if (delivery.errors.length > 0) row('subscription errors', delivery.errors.join('; ').slice(0, 100), 'none', false);
  });
}
