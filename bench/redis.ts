import { execFileSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { CommandChild } from './children.js';
import type { BenchContext } from './servers.js';

/**
 * A redis-server of the bench's own for the multi-instance runs, on a free
 * loopback port, without persistence, pinned with the servers: a clean Redis
 * whose CPU is measured beside the instances'. Stopped by PID.
 */
export interface BenchRedis {
  url: string;
  pid: number;
  /** CPU time (user + system) redis-server has used so far, µs. */
  cpuMicros(): Promise<number>;
  stop(): Promise<void>;
}

/** Why the bench cannot start a redis-server here, or null when it can. */
export function redisProblem(): string | null {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'redis-server is not installed (the multi-instance runs start one of their own)';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * redis-server's own CPU time (used_cpu_user + used_cpu_sys of INFO cpu, from
 * getrusage, µs precision), over a connection of the orchestrator's: /proc's
 * clock ticks are 10 ms, too coarse for a burst of a few hundred messages.
 */
async function redisCpuMicros(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const read = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1e6;
}

export async function startRedis(ctx: BenchContext): Promise<BenchRedis> {
  const port = await freePort();
  // Redis's defaults otherwise (client-output-buffer-limit pubsub 32mb 8mb 60: docs/scaling.md).
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child: CommandChild = ctx.children.spawnCommand(`redis-server :${port}`, ['redis-server', ...args], 'server');
  try {
    await child.waitForLine((line) => line.includes('Ready to accept connections'), 10_000, 'readiness');
  } catch (error) {
    await child.kill();
    throw error;
  }
  const url = `redis://127.0.0.1:${port}`;
  const client = new Redis(url, { maxRetriesPerRequest: 0, connectionName: 'bench-probe' });
  client.on('error', () => {});
  return {
    url,
    pid: child.pid,
    cpuMicros: () => redisCpuMicros(client),
    stop: async () => {
      client.disconnect();
      await child.kill();
    },
  };
}
