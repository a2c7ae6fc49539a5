import type { FanoutResult } from './fanout.js';
import type { HistoryResult } from './history.js';
import type { IngestResult } from './ingest.js';
import type { PhaseResult } from './load-fanout.js';
import type { Plan } from './plan.js';
import { formats, type Row } from './table.js';

export interface Results {
  /** chatTyping: the chat server again with --typing's typists (bench/load-typing.ts). */
  fanout: Map<number, { chat?: FanoutResult; bare?: FanoutResult; chatTyping?: FanoutResult }>;
  /** fanout2: `count` instances on one PostgreSQL and Redis (many) beside one instance on the same (one), N = size. */
  instances?: { size: number; count: number; one?: FanoutResult; many?: FanoutResult };
  ingest: { sqlite?: IngestResult; postgres?: IngestResult };
  history?: HistoryResult;
}

const n = (value: number) => value.toLocaleString('en-US');

function perConnectionKiB(result: FanoutResult | undefined): number | null {
  if (!result) return null;
  return (result.memoryIdle.rss - result.memoryBefore.rss) / result.subscribers / 1024;
}

function heapPerConnectionKiB(result: FanoutResult | undefined): number | null {
  if (!result) return null;
  return (result.memoryIdle.heapUsed - result.memoryBefore.heapUsed) / result.subscribers / 1024;
}

/**
 * From this many subscribers on, the fan-out rows carry issue 12's targets: at
 * least the bare server's deliveries/s, at most its steady p99 and its RSS per
 * connection, at most 0.6x its CPU per delivery.
 */
const FULL_SIZE = 19_000;

/** The table's rows, in the order of the scenarios. */
export function buildRows(plan: Plan, results: Results): Row[] {
  const rows: Row[] = [];
  // The RSS target of ≤ 1.5x belongs to the largest size below FULL_SIZE (10,000 in the full run, 200 in --quick).
  const memorySize = Math.max(0, ...plan.fanoutSizes.filter((size) => size < FULL_SIZE));
  for (const subscribers of plan.only.has('fanout') ? plan.fanoutSizes : []) {
    const full = subscribers >= FULL_SIZE;
    const { chat, bare } = results.fanout.get(subscribers) ?? {};
    const pick = (result: FanoutResult | undefined, read: (r: FanoutResult) => number) => (result ? read(result) : null);
    const messages = plan.burstMessages(subscribers);
    const burst = `fan-out burst N=${n(subscribers)} (${messages} msgs, ${plan.burstInFlight} in flight)`;
    const throughputTarget = full ? { atLeast: 1 } : subscribers >= 5_000 || plan.quick ? { atLeast: 0.8 } : undefined;
    rows.push(
      { scenario: burst, metric: 'deliveries/s', measured: pick(chat, (r) => r.burst.deliveriesPerSec), ceiling: pick(bare, (r) => r.burst.deliveriesPerSec), format: formats.perSecond, target: throughputTarget },
      { scenario: burst, metric: 'server CPU µs/delivery', measured: pick(chat, (r) => r.cpuMicrosPerDelivery), ceiling: pick(bare, (r) => r.cpuMicrosPerDelivery), format: formats.micros, target: { atMost: full ? 0.6 : 1.25 } },
      { scenario: burst, metric: 'latency p50 ms', measured: pick(chat, (r) => r.burst.latencyMs.p50), ceiling: pick(bare, (r) => r.burst.latencyMs.p50), format: formats.ms },
      { scenario: burst, metric: 'latency p99 ms', measured: pick(chat, (r) => r.burst.latencyMs.p99), ceiling: pick(bare, (r) => r.burst.latencyMs.p99), format: formats.ms },
      { scenario: burst, metric: 'latency max ms', measured: pick(chat, (r) => r.burst.latencyMs.max), ceiling: pick(bare, (r) => r.burst.latencyMs.max), format: formats.ms },
      { scenario: burst, metric: 'lost deliveries', measured: pick(chat, (r) => r.burst.lost), ceiling: pick(bare, (r) => r.burst.lost), format: formats.count, target: 'zero' },
      { scenario: burst, metric: 'server core busy', measured: pick(chat, (r) => r.serverBusy), ceiling: pick(bare, (r) => r.serverBusy), format: formats.percent },
      { scenario: burst, metric: 'load core busy', measured: pick(chat, (r) => r.burst.loadBusy), ceiling: pick(bare, (r) => r.burst.loadBusy), format: formats.percent },
    );
    const perSecond = plan.steadyDeliveriesPerSec / subscribers;
    const steady = `fan-out steady N=${n(subscribers)} (${perSecond.toFixed(perSecond < 10 ? 1 : 0)} msgs/s ≈ ${n(plan.steadyDeliveriesPerSec)} deliveries/s)`;
    rows.push(
      { scenario: steady, metric: 'latency p50 ms', measured: pick(chat, (r) => r.steady.latencyMs.p50), ceiling: pick(bare, (r) => r.steady.latencyMs.p50), format: formats.ms },
      { scenario: steady, metric: 'latency p99 ms', measured: pick(chat, (r) => r.steady.latencyMs.p99), ceiling: pick(bare, (r) => r.steady.latencyMs.p99), format: formats.ms, target: { atMost: full ? 1 : 1.3 } },
      { scenario: steady, metric: 'lost deliveries', measured: pick(chat, (r) => r.steady.lost), ceiling: pick(bare, (r) => r.steady.lost), format: formats.count, target: 'zero' },
      { scenario: steady, metric: 'server CPU µs/delivery', measured: steadyMicros(chat, 'server'), ceiling: steadyMicros(bare, 'server'), format: formats.micros },
      { scenario: steady, metric: 'load CPU µs/delivery', measured: steadyMicros(chat, 'load'), ceiling: steadyMicros(bare, 'load'), format: formats.micros },
    );
    if (plan.typing) rows.push(...typingRows(plan, subscribers, chat, results.fanout.get(subscribers)?.chatTyping));
    const memory = `idle subscribed sockets, N=${n(subscribers)} (memory after GC)`;
    rows.push(
      { scenario: memory, metric: 'connect + subscribe all, s', measured: pick(chat, (r) => r.connect.ms / 1000), ceiling: pick(bare, (r) => r.connect.ms / 1000), format: formats.seconds },
      { scenario: memory, metric: 'RSS KiB/connection', measured: perConnectionKiB(chat), ceiling: perConnectionKiB(bare), format: formats.kib, target: full ? { atMost: 1 } : subscribers === memorySize ? { atMost: 1.5 } : undefined },
      { scenario: memory, metric: 'JS heap KiB/connection', measured: heapPerConnectionKiB(chat), ceiling: heapPerConnectionKiB(bare), format: formats.kib },
      { scenario: memory, metric: 'RSS with all N idle, MiB', measured: pick(chat, (r) => r.memoryIdle.rss / 1024 / 1024), ceiling: pick(bare, (r) => r.memoryIdle.rss / 1024 / 1024), format: formats.decimal },
      { scenario: memory, metric: 'peak RSS during the burst, MiB', measured: pick(chat, (r) => r.peakRss / 1024 / 1024), ceiling: pick(bare, (r) => r.peakRss / 1024 / 1024), format: formats.decimal },
    );
  }

  if (plan.only.has('fanout2') && results.instances) rows.push(...instanceRows(results.instances));

  for (const [dialect, label, atLeast] of plan.only.has('ingest') ? ([['sqlite', 'SQLite', 0.6], ['postgres', 'PostgreSQL', 0.4]] as const) : []) {
    const result = results.ingest[dialect];
    const scenario = `ingest ${label}, ${plan.ingest.concurrency} clients (ceiling: mutation { __typename })`;
    rows.push(
      { scenario, metric: 'sendMessage msgs/s', measured: result?.sendMessage.perSec ?? null, ceiling: result?.noop.perSec ?? null, format: formats.perSecond, target: { atLeast } },
      { scenario, metric: 'latency p50 ms', measured: result?.sendMessage.latencyMs.p50 ?? null, ceiling: result?.noop.latencyMs.p50 ?? null, format: formats.ms },
      { scenario, metric: 'latency p99 ms', measured: result?.sendMessage.latencyMs.p99 ?? null, ceiling: result?.noop.latencyMs.p99 ?? null, format: formats.ms },
    );
  }

  if (!plan.only.has('history')) return rows;
  const history = results.history;
  const scenario = `history page of 50, ${n(plan.history.messages)} msgs, ${plan.history.concurrency} client (ceiling: { __typename })`;
  rows.push(
    { scenario, metric: 'requests/s', measured: history?.page.perSec ?? null, ceiling: history?.typename.perSec ?? null, format: formats.perSecond },
    { scenario, metric: 'latency p50 ms', measured: history?.page.latencyMs.p50 ?? null, ceiling: history?.typename.latencyMs.p50 ?? null, format: formats.ms },
    { scenario, metric: 'latency p99 ms', measured: history?.page.latencyMs.p99 ?? null, ceiling: history?.typename.latencyMs.p99 ?? null, format: formats.ms, target: { atMost: 2 } },
  );
  return rows;
}

/**
 * --typing: the same fan-out with a share of the subscribers typing, measured
 * against the chat server without typists in the same run (the "ceiling"
 * column here), then what the typists did and got.
 */
function typingRows(plan: Plan, subscribers: number, without: FanoutResult | undefined, typing: FanoutResult | undefined): Row[] {
  const pick = (result: FanoutResult | undefined, read: (r: FanoutResult) => number) => (result ? read(result) : null);
  const typists = Math.ceil(subscribers / Math.round(1 / plan.typingShare));
  const who = `${n(typists)} typing (${Math.round(plan.typingShare * 100)}%)`;
  const burst = `fan-out burst N=${n(subscribers)}, ${who}; ceiling: no one typing`;
  const steady = `fan-out steady N=${n(subscribers)}, ${who}; ceiling: no one typing`;
  const activity = `typing, N=${n(subscribers)}, ${who}${plan.typingVia === 'socket' ? ', setTyping over the socket' : ', setTyping over HTTP'}`;
  const t = typing?.typing ?? null;
  const seconds = t ? t.elapsedMs / 1000 : 0;
  return [
    { scenario: burst, metric: 'deliveries/s', measured: pick(typing, (r) => r.burst.deliveriesPerSec), ceiling: pick(without, (r) => r.burst.deliveriesPerSec), format: formats.perSecond },
    { scenario: burst, metric: 'server CPU µs/delivery', measured: pick(typing, (r) => r.cpuMicrosPerDelivery), ceiling: pick(without, (r) => r.cpuMicrosPerDelivery), format: formats.micros },
    { scenario: burst, metric: 'latency p50 ms', measured: pick(typing, (r) => r.burst.latencyMs.p50), ceiling: pick(without, (r) => r.burst.latencyMs.p50), format: formats.ms },
    { scenario: burst, metric: 'latency p99 ms', measured: pick(typing, (r) => r.burst.latencyMs.p99), ceiling: pick(without, (r) => r.burst.latencyMs.p99), format: formats.ms },
    { scenario: burst, metric: 'lost deliveries', measured: pick(typing, (r) => r.burst.lost), ceiling: pick(without, (r) => r.burst.lost), format: formats.count, target: 'zero' },
    { scenario: burst, metric: 'server core busy', measured: pick(typing, (r) => r.serverBusy), ceiling: pick(without, (r) => r.serverBusy), format: formats.percent },
    { scenario: burst, metric: 'load core busy', measured: pick(typing, (r) => r.burst.loadBusy), ceiling: pick(without, (r) => r.burst.loadBusy), format: formats.percent },
    { scenario: steady, metric: 'latency p50 ms', measured: pick(typing, (r) => r.steady.latencyMs.p50), ceiling: pick(without, (r) => r.steady.latencyMs.p50), format: formats.ms },
    { scenario: steady, metric: 'latency p99 ms', measured: pick(typing, (r) => r.steady.latencyMs.p99), ceiling: pick(without, (r) => r.steady.latencyMs.p99), format: formats.ms },
    { scenario: steady, metric: 'lost deliveries', measured: pick(typing, (r) => r.steady.lost), ceiling: pick(without, (r) => r.steady.lost), format: formats.count, target: 'zero' },
    { scenario: activity, metric: 'server core busy, typing alone', measured: typing?.typingAloneBusy ?? null, ceiling: null, format: formats.percent },
    { scenario: activity, metric: 'setTyping calls/s', measured: t ? t.calls / seconds : null, ceiling: null, format: formats.perSecond },
    { scenario: activity, metric: 'typing updates/s per typist', measured: t ? t.updates / t.typists / seconds : null, ceiling: null, format: formats.decimal },
    { scenario: activity, metric: 'most updates in 1 s, one typist', measured: t?.maxUpdatesInOneSecond ?? null, ceiling: null, format: formats.count },
    { scenario: activity, metric: 'typing KiB/s, all typists', measured: t ? t.updateBytes / 1024 / seconds : null, ceiling: null, format: formats.perSecond },
  ];
}

/**
 * fanout2: k instances on one database and Redis, the ceiling column being one
 * instance on the same backend, same N. Then what each instance did: the first
 * also took every send (HTTP, database, publish); the others only deliver what
 * Redis brings, which is what one more instance would cost.
 */
function instanceRows(instances: NonNullable<Results['instances']>): Row[] {
  const { size, count, one, many } = instances;
  const pick = (result: FanoutResult | undefined, read: (r: FanoutResult) => number | null) => (result ? read(result) : null);
  const burstMessages = many?.burst.messages ?? one?.burst.messages ?? 0;
  const scenario = `${count} instances + Redis + PostgreSQL, N=${n(size)} split, burst of ${burstMessages}; ceiling: 1 instance, same backend`;
  const steady = `${count} instances + Redis + PostgreSQL, N=${n(size)} split, steady ≈ 10,000 deliveries/s; ceiling: 1 instance`;
  const idle = `${count} instances + Redis + PostgreSQL, N=${n(size)} split, idle subscribed (memory after GC); ceiling: 1 instance`;
  const rows: Row[] = [
    { scenario, metric: 'deliveries/s', measured: pick(many, (r) => r.burst.deliveriesPerSec), ceiling: pick(one, (r) => r.burst.deliveriesPerSec), format: formats.perSecond },
    { scenario, metric: 'server CPU µs/delivery (all instances)', measured: pick(many, (r) => r.cpuMicrosPerDelivery), ceiling: pick(one, (r) => r.cpuMicrosPerDelivery), format: formats.micros },
    // Less what Redis does with no messages (liveness pings every 0.5 s, presence heartbeats, its cron), read over
    // 2 s before the burst: with few messages (21 at N=19,000) the figure is coarse.
    { scenario, metric: 'Redis CPU µs/message', measured: pick(many, (r) => r.redisMicrosPerMessage), ceiling: pick(one, (r) => r.redisMicrosPerMessage), format: formats.micros },
    { scenario, metric: 'Redis core busy, burst', measured: pick(many, redisBusy), ceiling: pick(one, redisBusy), format: percentTenths },
    { scenario, metric: 'Redis core busy, no messages', measured: pick(many, (r) => r.redisIdleBusy), ceiling: pick(one, (r) => r.redisIdleBusy), format: percentTenths },
    { scenario, metric: 'latency p50 ms', measured: pick(many, (r) => r.burst.latencyMs.p50), ceiling: pick(one, (r) => r.burst.latencyMs.p50), format: formats.ms },
    { scenario, metric: 'latency p99 ms', measured: pick(many, (r) => r.burst.latencyMs.p99), ceiling: pick(one, (r) => r.burst.latencyMs.p99), format: formats.ms },
    { scenario, metric: 'lost deliveries', measured: pick(many, (r) => r.burst.lost), ceiling: pick(one, (r) => r.burst.lost), format: formats.count, target: 'zero' },
    { scenario, metric: 'server core busy (all instances)', measured: pick(many, (r) => r.serverBusy), ceiling: pick(one, (r) => r.serverBusy), format: formats.percent },
    { scenario, metric: 'load core busy', measured: pick(many, (r) => r.burst.loadBusy), ceiling: pick(one, (r) => r.burst.loadBusy), format: formats.percent },
    { scenario: steady, metric: 'latency p50 ms', measured: pick(many, (r) => r.steady.latencyMs.p50), ceiling: pick(one, (r) => r.steady.latencyMs.p50), format: formats.ms },
    { scenario: steady, metric: 'latency p99 ms', measured: pick(many, (r) => r.steady.latencyMs.p99), ceiling: pick(one, (r) => r.steady.latencyMs.p99), format: formats.ms },
    { scenario: steady, metric: 'lost deliveries', measured: pick(many, (r) => r.steady.lost), ceiling: pick(one, (r) => r.steady.lost), format: formats.count, target: 'zero' },
    { scenario: idle, metric: 'connect + subscribe all, s', measured: pick(many, (r) => r.connect.ms / 1000), ceiling: pick(one, (r) => r.connect.ms / 1000), format: formats.seconds },
    { scenario: idle, metric: 'RSS KiB/connection (all instances)', measured: perConnectionKiB(many), ceiling: perConnectionKiB(one), format: formats.kib },
    { scenario: idle, metric: 'peak RSS during the burst, MiB (all instances)', measured: pick(many, (r) => r.peakRss / 1024 / 1024), ceiling: pick(one, (r) => r.peakRss / 1024 / 1024), format: formats.decimal },
  ];
  for (const [i, share] of (many?.instances ?? []).entries()) {
    const who = `instance ${i + 1} of ${count}, ${n(share.sockets)} sockets${i === 0 ? ', takes every send' : ', delivers what Redis brings'}`;
    rows.push(
      { scenario: who, metric: 'CPU µs/delivery (burst)', measured: share.cpuMicrosPerDelivery, ceiling: pick(one, (r) => r.cpuMicrosPerDelivery), format: formats.micros },
      { scenario: who, metric: 'core busy (burst)', measured: share.serverBusy, ceiling: null, format: formats.percent },
      { scenario: who, metric: 'RSS KiB/connection', measured: (share.memoryIdle.rss - share.memoryBefore.rss) / share.sockets / 1024, ceiling: perConnectionKiB(one), format: formats.kib },
    );
  }
  return rows;
}

const percentTenths = (value: number) => `${(value * 100).toFixed(1)}%`;

/** Redis's CPU over the burst as a fraction of one core. */
function redisBusy(result: FanoutResult): number | null {
  return result.redisMicrosPerMessage === null || result.redisIdleBusy === null
    ? null
    : (result.redisMicrosPerMessage * result.burst.messages) / 1000 / result.burst.elapsedMs + result.redisIdleBusy;
}

function phaseProblems(where: string, phase: PhaseResult): string[] {
  const problems: string[] = [];
  if (phase.lost > 0) problems.push(`${where}: ${n(phase.lost)} of ${n(phase.expected)} deliveries lost`);
  if (phase.duplicates > 0) problems.push(`${where}: ${n(phase.duplicates)} duplicate deliveries`);
  if (phase.publishErrors > 0) problems.push(`${where}: ${phase.publishErrors} publishes failed; first: ${phase.firstPublishError}`);
  if (phase.closedSockets > 0) problems.push(`${where}: the server closed ${phase.closedSockets} sockets; last: ${phase.lastCloseReason}`);
  if (phase.otherFrames > 0) problems.push(`${where}: ${phase.otherFrames} unexpected frames; first: ${phase.firstOtherFrame}`);
  return problems;
}

/** Correctness failures (the run exits non-zero) and caveats on the figures (printed, not failing). */
export function findProblems(results: Results): { failures: string[]; caveats: string[] } {
  const failures: string[] = [];
  const caveats: string[] = [];
  for (const [subscribers, pair] of fanoutResults(results)) {
    for (const result of [pair.chat, pair.bare, pair.chatTyping]) {
      if (!result) continue;
      const where = `${describe(result)} N=${n(subscribers)}`;
      failures.push(...phaseProblems(`${where} burst`, result.burst), ...phaseProblems(`${where} steady`, result.steady));
      if (result.typing?.callErrors) failures.push(`${where}: ${result.typing.callErrors} setTyping calls failed; first: ${result.typing.firstCallError}`);
      if (result.typing?.subscriptionsEnded) failures.push(`${where}: the server ended ${result.typing.subscriptionsEnded} typing subscriptions; first: ${result.typing.firstEnd}`);
      const server = steadyMicros(result, 'server');
      const load = steadyMicros(result, 'load');
      // A tenth more than the server's, not any more: the two are often within noise of each other.
      if (server !== null && load !== null && load > server * 1.1) {
        caveats.push(
          `${where}: in the steady phase the load generator spent ${formats.micros(load)} µs of CPU per delivery and the server ${formats.micros(server)}: the last frames of a message wait for the load to read them, so the steady latency is the load's limit more than the server's`,
        );
      }
      if (result.burst.loadBusy > 0.9 && result.serverBusy < 0.85) {
        caveats.push(
          `${where}: during the burst the load generator's core was ${formats.percent(result.burst.loadBusy)} busy and the server's ${formats.percent(result.serverBusy)}: deliveries/s is the load's limit here, not the server's`,
        );
      }
    }
  }
  const http = [
    ['ingest SQLite', results.ingest.sqlite],
    ['ingest PostgreSQL', results.ingest.postgres],
  ] as const;
  for (const [where, result] of http) {
    if (!result) continue;
    for (const [what, run] of [['no-op', result.noop], ['sendMessage', result.sendMessage]] as const) {
      if (run.errors > 0) failures.push(`${where} ${what}: ${run.errors} failed requests; first: ${run.firstError}`);
      if (run.loadBusy > 0.9) caveats.push(`${where} ${what}: the load generator's core was ${formats.percent(run.loadBusy)} busy`);
    }
  }
  if (results.history) {
    for (const [what, run] of [['{ __typename }', results.history.typename], ['history page', results.history.page]] as const) {
      if (run.errors > 0) failures.push(`history ${what}: ${run.errors} failed requests; first: ${run.firstError}`);
    }
  }
  const busy = busyMoments(results);
  if (busy.length > 0) caveats.push(`other processes on the machine used CPU while we measured, so those figures are unreliable: ${busy.join(', ')}`);
  return { failures, caveats };
}

/** Every fan-out run, the multi-instance ones included (as "chat" results of their size). */
function fanoutResults(results: Results): [number, { chat?: FanoutResult; bare?: FanoutResult; chatTyping?: FanoutResult }][] {
  const all = [...results.fanout];
  const { instances } = results;
  if (instances) for (const result of [instances.one, instances.many]) if (result) all.push([instances.size, { chat: result }]);
  return all;
}

/** "chat", "bare", "chat with typists", "chat, 2 instances + Redis". */
function describe(result: FanoutResult): string {
  const shared = result.redisMicrosPerMessage !== null ? `, ${result.instances.length} instance${result.instances.length > 1 ? 's' : ''} + Redis` : '';
  return `${result.server}${result.typing ? ' with typists' : ''}${shared}`;
}

/** Cores' worth of CPU above which other processes are said to have disturbed a measurement. */
const FOREIGN_CORES_NOTED = 0.1;

function busyMoments(results: Results): string[] {
  const moments: [string, number | null | undefined][] = [];
  for (const [subscribers, pair] of fanoutResults(results)) {
    for (const result of [pair.chat, pair.bare, pair.chatTyping]) {
      if (!result) continue;
      const where = describe(result);
      moments.push([`${where} N=${n(subscribers)} burst`, result.burst.foreignCores], [`${where} N=${n(subscribers)} steady`, result.steady.foreignCores]);
    }
  }
  for (const result of [results.ingest.sqlite, results.ingest.postgres]) {
    if (!result) continue;
    // PostgreSQL's own backends are processes of their own: their CPU counts here too.
    const where = result.dialect === 'postgres' ? 'ingest postgres (PostgreSQL itself included)' : `ingest ${result.dialect}`;
    moments.push([`${where} no-op`, result.noop.foreignCores], [`${where} sendMessage`, result.sendMessage.foreignCores]);
  }
  if (results.history) moments.push(['history { __typename }', results.history.typename.foreignCores], ['history page', results.history.page.foreignCores]);
  return moments.filter(([, cores]) => (cores ?? 0) > FOREIGN_CORES_NOTED).map(([where, cores]) => `${where} (${cores!.toFixed(2)} cores)`);
}

/** CPU per delivery over the steady phase, of the server (all its instances) or of the load generator; null without deliveries. */
function steadyMicros(result: FanoutResult | undefined, whose: 'server' | 'load'): number | null {
  const steady = result?.steady;
  if (!steady || steady.delivered === 0) return null;
  const micros = whose === 'server' ? steady.serverMicros : steady.cpuMicros;
  return micros === undefined ? null : micros / steady.delivered;
}
