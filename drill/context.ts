import { mkdtempSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { BenchChild, Children } from '../bench/children.js';
import { hostBusyMicros } from '../bench/host-cpu.js';
import { createFreshDatabase, postgresAdminUrl, type FreshDatabase } from '../bench/postgres.js';
import { gql } from '../bench/setup.js';
import type { Session } from '../sdk/index.js';
import { Cluster, type RedisServer } from '../test/helpers/cluster.js';
import { freePort } from '../test/helpers/processes.js';
import type { Plan } from './plan.js';
import type { EventLoopDelay } from './server-child.js';
import type { Row } from './table.js';

export const DRILL_SECRET = 'drill-secret-that-is-at-least-32-bytes-long!';
export const LOBBY_ID = '00000000-0000-7000-8000-000000000001';

/** What every drill gets from the orchestrator. */
export interface DrillContext {
  plan: Plan;
  children: Children;
  /** Temp folder of this run (SQLite files, data dirs); removed at the end. */
  workDir: string;
  log(message: string): void;
  /** Rows for the table; `pass: false` fails the run. */
  rows: Row[];
  /** Run at the end of the run whatever happens (drop databases, stop redis-servers). */
  atEnd(cleanup: () => Promise<unknown>): void;
}

export interface DrillServer {
  child: BenchChild;
  pid: number;
  port: number;
  url: string;
  /** The event-loop delay since the last resetDelay. */
  delay(): Promise<EventLoopDelay>;
  resetDelay(): Promise<void>;
  /** CPU time of the whole process so far, µs. */
  cpu(): Promise<number>;
  /** RSS after three full GCs. */
  rssAfterGc(): Promise<number>;
  /** Open file descriptors (/proc/<pid>/fd). */
  fds(): number;
  /** The messages of the warn/error log lines among the last lines it printed. */
  warnings(): string[];
  /** SIGKILL by PID: a crash, no goodbye to anyone. */
  crash(): Promise<void>;
  /** SIGTERM (a clean stop: sockets closed with 1001), then SIGKILL after 2 s. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** postgres://… or sqlite:<file> */
  databaseUrl: string;
  redisUrl?: string;
  port?: number;
}

/** A drill's chat server (drill/server-child.ts) configured through its environment. */
export async function startServer(ctx: DrillContext, label: string, options: ServerOptions): Promise<DrillServer> {
  const port = options.port ?? (await freePort());
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl ?? '',
    JWT_SECRET: DRILL_SECRET,
    DATA_DIR: mkdtempSync(join(ctx.workDir, 'data-')),
    LOG_LEVEL: 'warn',
    // Node clients send no Origin; set, it only keeps the start-up warning about it out of the figures.
    ALLOWED_ORIGINS: 'http://127.0.0.1',
    // The drills are load from one address: helper budgets must not be what they measure.
    RATE_LIMITS: 'off',
  };
  // bench/children.ts spawns bench/<script>; the drill's own children live next door.
  const child = ctx.children.spawn(`chat server ${label} :${port}`, '../drill/server-child.ts', 'server', ['--expose-gc']);
  try {
    const started = await child.call<{ url: string; port: number }>('start', { env }, 60_000);
    return {
      child,
      pid: child.pid,
      port: started.port,
      url: started.url.replace('0.0.0.0', '127.0.0.1'),
      delay: () => child.call<EventLoopDelay>('delay'),
      resetDelay: () => child.call<void>('resetDelay'),
      cpu: async () => (await child.call<{ micros: number }>('cpu')).micros,
      rssAfterGc: async () => (await child.call<{ rss: number }>('memory')).rss,
      fds: () => readdirSync(`/proc/${child.pid}/fd`).length,
      warnings: () => warningsIn(child.output()),
      crash: async () => {
        if (child.alive) process.kill(child.pid, 'SIGKILL');
        await child.exited;
      },
      stop: () => child.kill(),
    };
  } catch (error) {
    await child.kill();
    throw error;
  }
}

/** pino lines at warn (40) or above, as `msg (err.message)`. */
function warningsIn(output: string): string[] {
  const found: string[] = [];
  for (const line of output.split('\n')) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; reason?: string; err?: { message?: string } };
      const detail = entry.reason ?? entry.err?.message;
      if ((entry.level ?? 0) >= 40) found.push(`${entry.msg ?? ''}${detail ? ` (${detail})` : ''}`);
    } catch {
      // Not a log line.
    }
  }
  return found;
}

/** A row for a server's warnings, if it printed any. */
export function warningsRow(ctx: DrillContext, drill: string, server: DrillServer, label: string): void {
  const warnings = server.warnings();
  if (warnings.length === 0) return;
  const counts = new Map<string, number>();
  for (const w of warnings) counts.set(w, (counts.get(w) ?? 0) + 1);
  ctx.rows.push({ drill, figure: `server${label ? ` ${label}` : ''} warnings (of its last 40 lines)`, value: [...counts].map(([w, n]) => `${n}× ${w}`).join('; ').slice(0, 400) });
}

/** The load child (drill/load-child.ts): SDK clients, a sender, the balancer. */
export function startLoad(ctx: DrillContext, label: string): BenchChild {
  return ctx.children.spawn(`load ${label}`, '../drill/load-child.ts', 'load');
}

/** A fresh PostgreSQL database, dropped at the end of the run. */
export async function freshPostgres(ctx: DrillContext): Promise<FreshDatabase> {
  const database = await createFreshDatabase(postgresAdminUrl());
  ctx.atEnd(() => database.drop());
  return database;
}

/** A redis-server of the drill's own on a free loopback port, killed by PID at the end of the run. */
export async function ownRedis(ctx: DrillContext): Promise<RedisServer> {
  const cluster = new Cluster();
  ctx.atEnd(() => cluster.stop());
  return cluster.startRedis();
}

/** `count` users through the public API. */
export async function issueSessions(url: string, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let i = 0; i < count; i++) {
    const data = await gql<{ issueToken: Session }>(url, 'mutation { issueToken { token expiresAt user { id nickname tag handle } } }');
    sessions.push(data.issueToken);
  }
  return sessions;
}

export interface Sent {
  id: string;
  seq: number;
}

/** One message over HTTP; throws on any error. */
export async function send(url: string, session: Session, roomId: string, body: string): Promise<Sent> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
    body: JSON.stringify({ query: 'mutation($r: ID!, $b: String!) { sendMessage(input: { roomId: $r, body: $b }) { id seq } }', variables: { r: roomId, b: body } }),
  });
  const result = (await response.json()) as { data?: { sendMessage: Sent }; errors?: unknown[] };
  if (!result.data?.sendMessage) throw new Error(`sendMessage failed: ${JSON.stringify(result.errors)}`);
  return result.data.sendMessage;
}

/** A public room made through the API. */
export async function createRoom(url: string, session: Session, title: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.token}` },
    body: JSON.stringify({ query: 'mutation($t: String!) { createRoom(input: { title: $t }) { id } }', variables: { t: title } }),
  });
  const result = (await response.json()) as { data?: { createRoom: { id: string } }; errors?: unknown[] };
  if (!result.data?.createRoom) throw new Error(`createRoom failed: ${JSON.stringify(result.errors)}`);
  return result.data.createRoom.id;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` with `defer(stop)`; the stops run in reverse order however it ends. */
export async function scoped<T>(work: (defer: (stop: () => Promise<unknown>) => void) => Promise<T>): Promise<T> {
  const stops: (() => Promise<unknown>)[] = [];
  try {
    return await work((stop) => void stops.push(stop));
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

/**
 * How busy the whole machine was over a stretch (every process, ours included):
 * the drills share two cores with other sessions' tests, and say so beside their figures.
 */
export function watchMachine(): () => string {
  const before = hostBusyMicros();
  const startedAt = Date.now();
  return () => {
    const after = hostBusyMicros();
    const wallMicros = (Date.now() - startedAt) * 1000;
    const busy = before === null || after === null || wallMicros === 0 ? null : (after - before) / wallMicros;
    return `${busy === null ? 'n/a' : busy.toFixed(2)} of ${cpus().length} cores busy, load average ${loadavg()[0]!.toFixed(1)}`;
  };
}

/**
 * The event-loop delay the server's own /metrics reports (prom-client's
 * nodejs_eventloop_lag_*, which restart at every scrape), in ms; null where
 * the server has no /metrics. A cross-check of the drill's own probe.
 */
export async function metricsLag(server: DrillServer): Promise<{ p99: number; max: number } | null> {
  try {
    const response = await fetch(server.url.replace(/\/graphql$/, '/metrics'), { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) return null;
    const text = await response.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000;
    const lag = { p99: value('nodejs_eventloop_lag_p99_seconds'), max: value('nodejs_eventloop_lag_max_seconds') };
    return Number.isFinite(lag.max) ? lag : null;
  } catch {
    return null;
  }
}
