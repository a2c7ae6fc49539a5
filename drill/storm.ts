import { join } from 'node:path';
import { issueSessions, LOBBY_ID, metricsLag, scoped, send, startLoad, startServer, warningsRow, watchMachine, type DrillContext } from './context.js';
import type { DeliveryCheck, SeqWait } from './load-child.js';
import { count, ms } from './table.js';

/** What the server's event loop may be held up during the storm. */
const DELAY_MAX_MS = 1_000;

/**
 * One instance (SQLite) with N SDK clients through the balancer; the balancer
 * then drops every connection at once (a network blip, an LB restart). All N
 * reconnect together and resume with `after`: each must show the message sent
 * during the outage within the bound, while the server's event loop stays responsive.
 */
export async function stormDrill(ctx: DrillContext): Promise<void> {
  const { clients, resumeWithinMs } = ctx.plan.storm;
  const row = (figure: string, value: string, target?: string, pass?: boolean) => ctx.rows.push({ drill: 'storm', figure, value, target, pass });
  await scoped(async (defer) => {
    const server = await startServer(ctx, 'storm', { databaseUrl: `sqlite:${join(ctx.workDir, 'storm.db')}` });
    defer(() => server.stop());
    const sessions = await issueSessions(server.url, 50);
    const start = await send(server.url, sessions[0]!, LOBBY_ID, 'drill: storm starts after this');

    const load = startLoad(ctx, 'storm');
    defer(() => load.kill());
    await load.call('balancer', { backends: [server.port] });
    const opened = await load.call<{ ms: number }>('open', { count: clients, sessions, rooms: [{ roomId: LOBBY_ID, after: start.id }], timeoutMs: 120_000 }, 180_000);
    const probe = await send(server.url, sessions[0]!, LOBBY_ID, 'drill: probe');
    const live = await load.call<SeqWait>('waitSeq', { seqs: { [LOBBY_ID]: probe.seq }, since: Date.now(), timeoutMs: 20_000 }, 30_000);
    if (live.missing > 0) throw new Error(`${live.missing} of ${clients} clients not live before the storm`);
    const fdsBefore = server.fds();
    ctx.log(`storm: ${clients} clients live (opened in ${opened.ms} ms); dropping every connection`);

    const machine = watchMachine();
    await server.resetDelay();
    await metricsLag(server);
    const cpuBefore = { server: await server.cpu(), load: (await load.call<{ micros: number }>('cpu')).micros };
    const cut = await load.call<{ cut: number; at: number }>('cut');
    // Committed while every client is away: each must get it by resuming.
    const during = await send(server.url, sessions[1]!, LOBBY_ID, 'drill: sent during the storm');
    const resumed = await load.call<SeqWait>('waitSeq', { seqs: { [LOBBY_ID]: during.seq }, since: cut.at, timeoutMs: resumeWithinMs + 20_000 }, resumeWithinMs + 30_000);
    const delay = await server.delay();
    const scraped = await metricsLag(server);
    const machineText = machine();
    const wallMicros = (Date.now() - cut.at) * 1000;
    const busy = {
      server: (await server.cpu()) - cpuBefore.server,
      load: (await load.call<{ micros: number }>('cpu')).micros - cpuBefore.load,
    };
    const after = await send(server.url, sessions[2]!, LOBBY_ID, 'drill: after the storm');
    await load.call<SeqWait>('waitSeq', { seqs: { [LOBBY_ID]: after.seq }, since: Date.now(), timeoutMs: 10_000 });
    const delivery = await load.call<DeliveryCheck>('check', { ranges: { [LOBBY_ID]: { from: start.seq + 1, to: after.seq } } });
    const fdsAfter = server.fds();

    row('clients; connections dropped at once', `${count(clients)}; ${count(cut.cut)}`);
    row('drop → message sent meanwhile shown, p50 / p99 / max', `${ms(resumed.times.p50)} / ${ms(resumed.times.p99)} / ${ms(resumed.times.max)}`, `all ≤ ${ms(resumeWithinMs)}`, resumed.missing === 0 && resumed.times.max <= resumeWithinMs);
    row('clients never resumed', count(resumed.missing), '= 0', resumed.missing === 0);
    row('server event-loop delay during the storm, p99 / max', `${ms(delay.p99)} / ${ms(delay.max)}`, `max ≤ ${ms(DELAY_MAX_MS)}`, delay.max <= DELAY_MAX_MS);
    if (scraped) row('the same per its /metrics (nodejs_eventloop_lag_*), p99 / max', `${ms(scraped.p99)} / ${ms(scraped.max)}`);
    row('core busy from the drop until all resumed: server / load', `${(busy.server / wallMicros).toFixed(2)} / ${(busy.load / wallMicros).toFixed(2)}`);
    row('lost / doubled / out of order (sum over clients)', `${delivery.lost} / ${delivery.doubled} / ${delivery.outOfOrder}`, '= 0', delivery.lost + delivery.doubled + delivery.outOfOrder === 0);
    row('extra sockets opened; socket ends by close code; cut by the client', `${count(delivery.extraSockets)}; ${Object.entries(delivery.closes).map(([code, n]) => `${code}×${n}`).join(' ') || 'none'}; ${delivery.terminated} cut by the client (pong timeout)`);
    row('frames received again (dropped by the SDK); SDK gap fills', `${count(delivery.rawRepeats)}; ${count(delivery.gapFills)}`);
    row('server fds before / after the storm', `${fdsBefore} / ${fdsAfter}`);
    row('machine during the storm', machineText);
    warningsRow(ctx, 'storm', server, '');
    const socketErrors = Object.entries(delivery.socketErrors);
    if (socketErrors.length > 0) row('socket errors seen by clients', socketErrors.map(([e, n]) => `${n}× ${e}`).join('; ').slice(0, 160));
    if (delivery.errors.length > 0) row('subscription errors', delivery.errors.join('; ').slice(0, 100), 'none', false);
    await load.call('closeClients', undefined, 60_000);
  });
}
