/** How big each scenario is: the full run, or --quick for a CI smoke run. */
export interface Plan {
  quick: boolean;
  /** --profile: the chat server runs under --cpu-prof; figures are perturbed by the profiler. */
  profile: boolean;
  /** --only=fanout,fanout2,ingest,history: the scenarios to run (all by default; --quick leaves out fanout2). */
  only: Set<Scenario>;
  /**
   * --typing: each fan-out size runs the chat server a second time with this
   * share of the subscribers typing (bench/load-typing.ts), beside the run without.
   */
  typing: boolean;
  /** --typing=socket: setTyping over the typists' own WebSockets instead of HTTP. */
  typingVia: 'http' | 'socket';
  typingShare: number;
  /**
   * How long the typists type before a measurement starts: one whole cycle of
   * theirs (and, the first time, once more for the "typing alone" figure).
   */
  typingRampMs: number;
  /** Subscriber counts for fan-out (BENCH_SIZES); see report.ts for which carry which target. */
  fanoutSizes: number[];
  /** fanout2: chat server instances sharing one PostgreSQL and one Redis (--instances=K, default 2). */
  instances: number;
  /** fanout2 runs at the largest fan-out size, once with `instances` instances and once with one. */
  instancesSize: number;
  burstMessages: (subscribers: number) => number;
  burstInFlight: number;
  steadyDeliveriesPerSec: number;
  steadyMs: number;
  /** Handshakes the load keeps open at once while connecting. */
  connectConcurrency: number;
  /** Distinct users behind the sockets (tokens handed round-robin). */
  fanoutUsers: number;
  ingest: { concurrency: number; warmUpMs: number; durationMs: number };
  history: { messages: number; concurrency: number; warmUpMs: number; durationMs: number };
  /** Everything is killed and the run fails past this. */
  deadlineMs: number;
  /** The most the whole run waits for other processes on the machine to go quiet. */
  quietBudgetMs: number;
}

export const SCENARIOS = ['fanout', 'fanout2', 'ingest', 'history'] as const;
export type Scenario = (typeof SCENARIOS)[number];

const USAGE = `usage: npm run bench [-- [--quick] [--profile] [--typing[=socket]] [--instances=K] [--only=${SCENARIOS.join(',')}]]`;

export function parsePlan(argv: string[]): Plan {
  const quick = argv.includes('--quick');
  const profile = argv.includes('--profile');
  const typingVia: Plan['typingVia'] = argv.includes('--typing=socket') ? 'socket' : 'http';
  const typing = typingVia === 'socket' || argv.includes('--typing');
  // The CI smoke run checks what it always did: no Redis, no second instance.
  const only = new Set<Scenario>(quick ? SCENARIOS.filter((name) => name !== 'fanout2') : SCENARIOS);
  let instances = 2;
  for (const arg of argv) {
    if (arg === '--quick' || arg === '--profile' || arg === '--typing' || arg === '--typing=socket') continue;
    const count = /^--instances=(\d+)$/.exec(arg)?.[1];
    if (count !== undefined) {
      instances = Number(count);
      if (instances < 2) throw new Error(`--instances must be 2 or more (the one-instance run is its ceiling); ${USAGE}`);
      continue;
    }
    const list = /^--only=(.+)$/.exec(arg)?.[1];
    if (!list) throw new Error(`unknown argument "${arg}"; ${USAGE}`);
    only.clear();
    for (const name of list.split(',')) {
      if (!(SCENARIOS as readonly string[]).includes(name)) throw new Error(`--only: unknown scenario "${name}"; ${USAGE}`);
      only.add(name as Scenario);
    }
  }
  const common = { quick, profile, only, instances, typing, typingVia, typingShare: 0.1, typingRampMs: 8_000, burstInFlight: 4, steadyDeliveriesPerSec: 10_000, connectConcurrency: 200, fanoutUsers: 50 };
  if (quick) {
    return {
      ...common,
      fanoutSizes: [200],
      instancesSize: 200,
      burstMessages: () => 100,
      steadyMs: 2_000,
      ingest: { concurrency: 50, warmUpMs: 300, durationMs: 3_000 },
      history: { messages: 20_000, concurrency: 1, warmUpMs: 300, durationMs: 1_500 },
      deadlineMs: 90_000,
      quietBudgetMs: 5_000,
    };
  }
  // 19,000: as many sockets as one process may hold on the 20,000-file machine this was written on.
  const fanoutSizes = process.env.BENCH_SIZES ? process.env.BENCH_SIZES.split(',').map(Number) : [1_000, 5_000, 10_000, 19_000];
  if (fanoutSizes.some((size) => !Number.isInteger(size) || size < 1)) throw new Error(`BENCH_SIZES must be a comma-separated list of subscriber counts, got "${process.env.BENCH_SIZES}"`);
  return {
    ...common,
    fanoutSizes,
    instancesSize: Math.max(...fanoutSizes),
    // About 400,000 deliveries per burst: a few seconds at the rates seen here.
    burstMessages: (subscribers) => Math.min(400, Math.max(20, Math.round(400_000 / subscribers))),
    // 10,000 deliveries/s for 20 s: 40 messages at 5,000 subscribers, 10 at 19,000. With 8 s (16 and 4)
    // the p99 was one slow message's tail, and moved 0.7–1.4x between runs of the same tree.
    steadyMs: 20_000,
    ingest: { concurrency: 50, warmUpMs: 1_000, durationMs: 8_000 },
    history: { messages: 1_000_000, concurrency: 1, warmUpMs: 1_000, durationMs: 5_000 },
    // ~6 min on a quiet machine, 9.3 min on a busy one (2026-12-02); where a 19,000-socket connect takes minutes, more.
    deadlineMs: 30 * 60_000,
    quietBudgetMs: 120_000,
  };
}
