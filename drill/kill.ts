import { freshPostgres, issueSessions, LOBBY_ID, ownRedis, scoped, send, sleep, startLoad, startServer, warningsRow, watchMachine, type DrillContext } from './context.js';
import type { DeliveryCheck, SeqWait } from './load-child.js';
import type { SendReport } from './sender.js';
import { checkStorage, storedMessages } from './storage.js';
import { count, ms } from './table.js';

/**
 * Two instances on one PostgreSQL and one Redis behind a balancer, SDK clients
 * on both reading the lobby, a steady send load through the balancer; then one
 * instance is SIGKILLed. Its clients reconnect (to the other) and resume with
 * `after`; every client must have seen every stored message exactly once, in order.
 */
export async function killDrill(ctx: DrillContext): Promise<void> {
  const { clients, perSecond, beforeMs, afterMs } = ctx.plan.kill;
  const row = (figure: string, value: string, target?: string, pass?: boolean) => ctx.rows.push({ drill: 'kill', figure, value, target, pass });
  await scoped(async (defer) => {
    const database = await freshPostgres(ctx);
    const redis = await ownRedis(ctx);
    const options = { databaseUrl: database.url, redisUrl: redis.url };
    const a = await startServer(ctx, 'A', options);
    defer(() => a.stop());
    const b = await startServer(ctx, 'B', options);
    defer(() => b.stop());
    const sessions = await issueSessions(a.url, 20);
    const [author] = await issueSessions(a.url, 1);
    const start = await send(a.url, author!, LOBBY_ID, 'drill: kill starts after this');

    const load = startLoad(ctx, 'kill');
    defer(() => load.kill());
    await load.call('balancer', { backends: [a.port, b.port] });
    await load.call('open', { count: clients, sessions, rooms: [{ roomId: LOBBY_ID, after: start.id }] });
    const placement = await load.call<Record<number, number>>('balancerOpen');
    const probe = await send(b.url, author!, LOBBY_ID, 'drill: probe');
    const live = await load.call<SeqWait>('waitSeq', { seqs: { [LOBBY_ID]: probe.seq }, since: Date.now(), timeoutMs: 10_000 });
    if (live.missing > 0) throw new Error(`${live.missing} of ${clients} clients not live before the kill`);
    ctx.log(`kill: ${clients} clients live (${placement[a.port] ?? 0} sockets on A, ${placement[b.port] ?? 0} on B); sending ${perSecond}/s`);

    const machine = watchMachine();
    await load.call('startSender', { session: author, roomIds: [LOBBY_ID], perSecond });
    await sleep(beforeMs);
    const killedAt = Date.now();
    await a.crash();
    ctx.log(`kill: SIGKILL sent to A (pid ${a.pid})`);
    await sleep(afterMs);
    const report = await load.call<SendReport>('stopSender', undefined, 60_000);
    const machineText = machine();

    const stored = await storedMessages(database.url, LOBBY_ID, start.seq + 1);
    const last = stored.at(-1)?.seq ?? start.seq;
    const firstAfterKill = report.acked.filter((ack) => ack.at >= killedAt).sort((x, y) => x.seq - y.seq)[0];
    const resumed = firstAfterKill
      ? await load.call<SeqWait>('waitSeq', { seqs: { [LOBBY_ID]: firstAfterKill.seq }, since: killedAt, timeoutMs: 15_000 })
      : null;
    await load.call<SeqWait>('waitSeq', { seqs: { [LOBBY_ID]: last }, since: killedAt, timeoutMs: 15_000 });
    const delivery = await load.call<DeliveryCheck>('check', { ranges: { [LOBBY_ID]: { from: start.seq + 1, to: last } } });
    const storage = checkStorage(stored, report.acked, report.failed);
    const onA = placement[a.port] ?? 0;

    row('clients (sockets on A / on B before the kill)', `${count(clients)} (${onA} / ${placement[b.port] ?? 0})`, 'both > 0', onA > 0 && (placement[b.port] ?? 0) > 0);
    row('sends acknowledged / failed', `${count(report.acked.length)} / ${count(report.failed.length)}`, 'failed = 0', report.failed.length === 0);
    if (report.failed.length > 0) row('failed sends, first', `${report.failed[0]!.code}: ${report.failed[0]!.message}`.slice(0, 100));
    row('messages stored in the window', count(stored.length));
    row('lost (sum over clients)', `${count(delivery.lost)} (${delivery.clientsWithLoss} clients)`, '= 0', delivery.lost === 0);
    row('doubled (sum over clients)', count(delivery.doubled), '= 0', delivery.doubled === 0);
    row('out of order', count(delivery.outOfOrder), '= 0', delivery.outOfOrder === 0);
    row('frames of a seq received again (dropped by the SDK)', count(delivery.rawRepeats));
    row('SDK gap fills from history', count(delivery.gapFills));
    row('extra sockets opened; socket ends by close code; cut by the client', `${count(delivery.extraSockets)}; ${Object.entries(delivery.closes).map(([code, n]) => `${code}×${n}`).join(' ') || 'none'}; ${delivery.terminated} cut by the client (pong timeout)`);
    row('reconnects', count(delivery.reconnects));
    row(
      'kill → first message sent after it shown, p50 / p99 / max',
      resumed ? `${ms(resumed.times.p50)} / ${ms(resumed.times.p99)} / ${ms(resumed.times.max)} (${resumed.missing} never)` : 'n/a',
      resumed ? `all within ${ms(afterMs)}` : undefined,
      resumed ? resumed.missing === 0 && resumed.times.max <= afterMs : undefined,
    );
    if (firstAfterKill) row('that message: sent / acknowledged, after the kill', `${ms(firstAfterKill.at - killedAt)} / ${ms(firstAfterKill.at + firstAfterKill.latencyMs - killedAt)}`);
    const latency = report.acked.map((a) => a.latencyMs).sort((x, y) => x - y);
    row('send latency p50 / p99 / max', `${ms(latency[Math.floor(latency.length / 2)] ?? NaN)} / ${ms(latency[Math.floor(latency.length * 0.99)] ?? NaN)} / ${ms(latency.at(-1) ?? NaN)}`);
    row('acknowledged sends stored exactly once', `${count(storage.ackedOnce)} of ${count(storage.acked)}`, 'all', storage.ackedOnce === storage.acked);
    if (storage.ackedWrong.length > 0) row('acknowledged but stored wrong, first', storage.ackedWrong.join('; ').slice(0, 100));
    row('failed sends stored anyway', count(storage.failedButStored), '= 0', storage.failedButStored === 0);
    row('seq gaps or repeats in storage', count(storage.seqProblems), '= 0', storage.seqProblems === 0);
    row('machine during the drill', machineText);
    warningsRow(ctx, 'kill', b, 'B');
    const socketErrors = Object.entries(delivery.socketErrors);
    if (socketErrors.length > 0) row('socket errors seen by clients', socketErrors.map(([e, n]) => `${n}× ${e}`).join('; ').slice(0, 160));
    if (delivery.errors.length > 0) row('subscription errors', delivery.errors.join('; ').slice(0, 100), 'none', false);
    await load.call('closeClients');
    await load.call('closeSender');
  });
}
