import { mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../src/config.js';
import type { BenchChild, Children } from './children.js';
import type { QuietGate } from './host-cpu.js';
import type { Plan } from './plan.js';

/** What every scenario gets from the orchestrator. */
export interface BenchContext {
  plan: Plan;
  children: Children;
  /** Temp folder of this run (databases, profiles); removed at the end. */
  workDir: string;
  log(message: string): void;
  /** Waits (within the run's budget) for other processes on the machine to go quiet before a measurement. */
  quiet: QuietGate;
  /** --profile: the stretches of server profiles that were measurements, summarised at the end. */
  profiles: ProfileWindow[];
}

/** A measured stretch of one server's --cpu-prof profile, in its monotonic clock (µs). */
export interface ProfileWindow {
  title: string;
  pid: number;
  fromMicros: number;
  toMicros: number;
}

export interface RunningServer {
  child: BenchChild;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  /** Asks for a clean stop (which also writes a --cpu-prof profile), then kills by PID if needed. */
  stop(): Promise<void>;
}

const STOP_MS = 15_000;

/** Where --profile servers write their profiles. */
export function profileDir(ctx: BenchContext): string {
  const dir = join(ctx.workDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  return dir;
}

function profileArgs(ctx: BenchContext): string[] {
  return ctx.plan.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir(ctx)}`] : [];
}

/** node --cpu-prof names its file CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile; written when the server exits. */
export function profileFile(dir: string, pid: number): string | null {
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.split('.')[3] === String(pid));
  return file ? join(dir, file) : null;
}

/** Runs one measurement; under --profile, remembers its stretch of the server's profile as `title`. */
export async function profiled<T>(ctx: BenchContext, server: RunningServer, title: string, work: () => Promise<T>): Promise<T> {
  if (!ctx.plan.profile) return work();
  const fromMicros = await server.child.call<number>('now');
  const result = await work();
  const toMicros = await server.child.call<number>('now');
  ctx.profiles.push({ title, pid: server.child.pid, fromMicros, toMicros });
  return result;
}

async function started(child: BenchChild, args: unknown): Promise<RunningServer> {
  try {
    const { url } = await child.call<{ url: string }>('start', args, 60_000);
    let stopped: Promise<void> | null = null;
    const stop = async () => {
      try {
        await child.call('stop', undefined, STOP_MS);
        await Promise.race([child.exited, new Promise((resolve) => setTimeout(resolve, STOP_MS))]);
      } catch {
        // Killed below either way.
      }
      await child.kill();
    };
    return { child, url, stop: () => (stopped ??= stop()) };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/**
 * The chat server (src/app.ts) in a child pinned to the server core, with
 * --expose-gc for memory readings (and --cpu-prof under --profile). A fresh
 * SQLite file unless `database` is given; in-process pub/sub unless `redisUrl` is.
 */
export function startChatServer(
  ctx: BenchContext,
  label: string,
  options: { database?: Config['database']; redisUrl?: string } = {},
): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(ctx.workDir, 'chat-'));
  const database = options.database ?? { dialect: 'sqlite', file: join(dataDir, 'chat.db') };
  const child = ctx.children.spawn(`chat server (${label})`, 'server-child.ts', 'server', ['--expose-gc', ...profileArgs(ctx)]);
  return started(child, { database, dataDir, redisUrl: options.redisUrl ?? null });
}

/** The bare `ws` broadcast server (bench/bare-ws-server.ts): the fan-out ceiling. */
export function startBareServer(ctx: BenchContext, label: string): Promise<RunningServer> {
  const child = ctx.children.spawn(`bare ws server (${label})`, 'bare-ws-server.ts', 'server', ['--expose-gc', ...profileArgs(ctx)]);
  return started(child, {});
}
