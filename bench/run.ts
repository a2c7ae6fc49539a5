import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Children, detectPinning } from './children.js';
import { runFanout, type FanoutServer } from './fanout.js';
import { runHistory } from './history.js';
import { runIngest } from './ingest.js';
import { runInstances } from './instances.js';
import { describeLimits, readSocketLimits, socketProblem } from './limits.js';
import { QuietGate } from './host-cpu.js';
import { describeMachine } from './machine.js';
import { parsePlan } from './plan.js';
import { postgresAdminUrl, postgresProblem } from './postgres.js';
import { formatProfile, summarizeProfile } from './profile.js';
import { redisProblem } from './redis.js';
import { buildRows, findProblems, type Results } from './report.js';
import { profileDir, profileFile, type BenchContext } from './servers.js';
import { renderTable, verdictOf } from './table.js';

/**
 * `npm run bench [-- --quick] [--profile] [--instances=K] [--only=fanout,fanout2,ingest,history]`
 * (docs/benchmarks.md): starts the servers and the load in
 * child processes (pinned apart when taskset exists), runs every scenario, and
 * prints one table. Every child is killed by PID at the end, on error, on a
 * signal, and at the hard deadline.
 */
async function main(): Promise<void> {
  const parsed = parsePlan(process.argv.slice(2));
  const startedAt = Date.now();
  const limits = readSocketLimits();
  const notes: string[] = [];
  // Sizes this machine's file limit cannot hold are not run; the note says what to raise.
  const tooBig = new Map(parsed.fanoutSizes.map((size) => [size, socketProblem(limits, size, size)] as const));
  const plan = { ...parsed, fanoutSizes: parsed.fanoutSizes.filter((size) => tooBig.get(size) === null) };
  if (parsed.only.has('fanout')) for (const problem of tooBig.values()) if (problem) notes.push(problem);
  const machine = describeMachine();
  const pinning = detectPinning();
  const children = new Children(pinning);
  const workDir = mkdtempSync(join(tmpdir(), 'chat-bench-'));
  const cleanups: (() => Promise<void>)[] = [];
  const results: Results = { fanout: new Map(), ingest: {} };
  const errors: string[] = [];
  const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)} s] ${message}\n`);
  const ctx: BenchContext = { plan, children, workDir, log, quiet: new QuietGate(plan.quietBudgetMs, log), profiles: [] };
  // Up front as well as under the table: a size left out is the first thing to know.
  for (const note of notes) log(note);


  let finished = false;
  const finish = async (code: number): Promise<never> => {
    if (finished) return new Promise<never>(() => {});
    finished = true;
    clearTimeout(deadline);
    await children.killAll();
    for (const cleanup of cleanups) await cleanup().catch((error: unknown) => errors.push(`cleanup failed: ${String(error)}`));
    const profileText = plan.profile ? profileSummary(ctx, errors) : null;
    // Databases go (the history one is hundreds of MB); profiles stay for a closer look.
    for (const entry of readdirSync(workDir)) if (!(plan.profile && entry === 'profiles')) rmSync(join(workDir, entry), { recursive: true, force: true });
    if (!plan.profile) rmSync(workDir, { recursive: true, force: true });
    const { failures, caveats } = findProblems(results);
    const rows = buildRows(plan, results);
    const out = [
      `chat server benchmark: ${plan.quick ? 'quick (CI smoke) run: small N, targets indicative only' : 'full run'}${plan.profile ? ', server under --cpu-prof (figures perturbed by the profiler)' : ''}`,
      `date ${new Date(startedAt).toISOString()}, took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`,
      `machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memory} RAM, Node ${machine.node}, ulimit -n ${machine.openFiles} (hard ${limits.hardOpenFiles}), NODE_ENV=${process.env.NODE_ENV ?? '(unset)'}; code: ${machine.revision}`,
      `limits: ${describeLimits(limits)}`,
      pinning
        ? `pinning: servers on core ${pinning.server}, load generators on core ${pinning.load} (taskset)`
        : 'pinning: NONE (taskset missing or fewer than 2 cores): servers and load share the cores, figures are noisier',
      'ceilings: fan-out = bare ws broadcast server (bench/bare-ws-server.ts), ingest = mutation { __typename }, history = { __typename }, each in the same run',
      ...(results.instances
        ? [`instances: ${results.instances.count} chat servers on one PostgreSQL database and one redis-server (started by the bench), beside one instance on the same; ${pinning ? `all of them and Redis share core ${pinning.server}` : 'unpinned'}`]
        : []),
      '',
      renderTable(rows),
      '',
      `targets: ${rows.filter((row) => verdictOf(row) === 'PASS').length} PASS, ${rows.filter((row) => verdictOf(row) === 'MISS').length} MISS, ${rows.filter((row) => verdictOf(row) === 'n/a').length} n/a`,
      ...[...notes, ...caveats].map((note) => `note: ${note}`),
      ...[...errors, ...failures].map((problem) => `ERROR: ${problem}`),
    ];
    if (profileText) out.push('', profileText, '', `profiles kept in ${join(workDir, 'profiles')} (open in Chrome DevTools or speedscope)`);
    process.stdout.write(`${out.join('\n')}\n`);
    process.exit(code !== 0 ? code : errors.length + failures.length > 0 ? 1 : 0);
  };

  const deadline = setTimeout(() => {
    errors.push(`hard deadline of ${plan.deadlineMs / 1000} s reached: every child killed, the rest not measured`);
    void finish(2);
  }, plan.deadlineMs);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      errors.push(`stopped by ${signal}`);
      void finish(130);
    });
  }

  /** A failed step is reported and the run goes on with the next. */
  const step = async (name: string, work: () => Promise<void>) => {
    if (finished) return;
    try {
      await work();
    } catch (error) {
      if (!finished) errors.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };

  for (const subscribers of plan.only.has('fanout') ? plan.fanoutSizes : []) {
    results.fanout.set(subscribers, {});
    for (const kind of ['chat', 'bare'] as FanoutServer[]) {
      await step(`fan-out ${kind} N=${subscribers}`, async () => {
        results.fanout.get(subscribers)![kind] = await runFanout(ctx, kind, subscribers);
      });
    }
    if (plan.typing) {
      await step(`fan-out chat with typists N=${subscribers}`, async () => {
        results.fanout.get(subscribers)!.chatTyping = await runFanout(ctx, 'chat', subscribers, true);
      });
    }
  }
  if (plan.only.has('fanout2')) {
    const size = plan.instancesSize;
    const problem = redisProblem() ?? (await postgresProblem(postgresAdminUrl()));
    const oneProblem = socketProblem(limits, size, size);
    const manyProblem = socketProblem(limits, size, Math.ceil(size / plan.instances));
    if (problem) notes.push(`fan-out over ${plan.instances} instances skipped: ${problem}`);
    else if (manyProblem) notes.push(`fan-out over ${plan.instances} instances: ${manyProblem}`);
    else {
      const instances: NonNullable<Results['instances']> = { size, count: plan.instances };
      results.instances = instances;
      if (oneProblem) notes.push(`fan-out over 1 instance (the ceiling of the ${plan.instances}-instance run): ${oneProblem}`);
      else {
        await step(`fan-out over 1 instance + Redis N=${size}`, async () => {
          instances.one = await runInstances(ctx, size, 1, (cleanup) => cleanups.push(cleanup));
        });
      }
      await step(`fan-out over ${plan.instances} instances + Redis N=${size}`, async () => {
        instances.many = await runInstances(ctx, size, plan.instances, (cleanup) => cleanups.push(cleanup));
      });
    }
  }
  if (plan.only.has('ingest')) {
    await step('ingest SQLite', async () => {
      results.ingest.sqlite = await runIngest(ctx, 'sqlite', (cleanup) => cleanups.push(cleanup));
    });
    const postgres = await postgresProblem(postgresAdminUrl());
    if (postgres) notes.push(`ingest PostgreSQL skipped: ${postgres}`);
    else {
      await step('ingest PostgreSQL', async () => {
        results.ingest.postgres = await runIngest(ctx, 'postgres', (cleanup) => cleanups.push(cleanup));
      });
    }
  }
  if (plan.only.has('history')) {
    await step('history', async () => {
      results.history = await runHistory(ctx);
    });
  }
  await finish(0);
}

/** The --profile summary: every measured stretch, from the profiles the servers wrote on exit. */
function profileSummary(ctx: BenchContext, errors: string[]): string | null {
  const parts: string[] = [];
  for (const window of ctx.profiles) {
    try {
      const file = profileFile(profileDir(ctx), window.pid);
      if (!file) throw new Error(`no profile was written by pid ${window.pid}`);
      parts.push(formatProfile(summarizeProfile(file, window.fromMicros, window.toMicros), `CPU profile: ${window.title}`));
    } catch (error) {
      errors.push(`profile of ${window.title}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return parts.length > 0 ? parts.join('\n\n') : null;
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench failed before it could report: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
