import { spawnSync } from 'node:child_process';
import net from 'node:net';

/**
 * With DATABASE_URL or REDIS_URL set, the services run is meant: an unreachable
 * service is a failure (never a skip), so a broken CI machine cannot pass green.
 */
export default async function setup(): Promise<void> {
  const problems: string[] = [];
  for (const name of ['DATABASE_URL', 'REDIS_URL'] as const) {
    const url = process.env[name];
    if (!url || url.startsWith('sqlite:')) continue;
    const { hostname, port } = new URL(url);
    const defaultPort = name === 'DATABASE_URL' ? 5432 : 6379;
    if (!(await reachable(hostname, Number(port) || defaultPort))) problems.push(`${name}=${url} is not reachable`);
  }
  if (process.env.CI === 'true' && process.env.CHAT_TEST_SERVICES === 'required') {
    if (!process.env.DATABASE_URL) problems.push('CHAT_TEST_SERVICES=required but DATABASE_URL is not set');
    if (!process.env.REDIS_URL) problems.push('CHAT_TEST_SERVICES=required but REDIS_URL is not set');
  }
  // The Redis outage and Redis Cluster tests start redis-servers of their own (test/helpers/redis-cluster.ts).
  if (process.env.REDIS_URL || (process.env.CI === 'true' && process.env.CHAT_TEST_SERVICES === 'required')) {
    for (const tool of ['redis-server', 'redis-cli']) if (!onPath(tool)) problems.push(`${tool} is not on PATH (the Redis outage and Redis Cluster tests start their own)`);
  }
  if (problems.length > 0) throw new Error(`test services missing:\n  ${problems.join('\n  ')}`);
}

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

function onPath(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}
