import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisClusterNode } from '../../src/config.js';
import { hashSlot } from '../../src/infrastructure/redis/hash-slot.js';
import { Child, freePort } from './processes.js';
import { until } from './wait.js';

const run = promisify(execFile);

/**
 * A Redis Cluster of the test's own: `masters` redis-servers with
 * --cluster-enabled on free loopback ports, each with its nodes.conf in a temp
 * folder, joined by `redis-cli --cluster create` (no replicas). A master can be
 * killed (by PID) and restarted on the same port with the same nodes.conf, so it
 * comes back as the same node with the same slots. stop() kills them all by PID.
 */
export class RedisCluster {
  private constructor(
    private readonly dir: string,
    /** The masters by port; a killed one keeps its entry (its process has exited). */
    private readonly nodes: Map<number, Child>,
  ) {}

  /** Starts the servers, creates the cluster and waits until every node says cluster_state:ok. */
  static async start(masters = 3): Promise<RedisCluster> {
    await requireRedisTools();
    const dir = mkdtempSync(join(tmpdir(), 'chat-redis-cluster-'));
    const cluster = new RedisCluster(dir, new Map());
    try {
      const ports: number[] = [];
      while (ports.length < masters) {
        const port = await freeNodePort();
        if (!ports.includes(port)) ports.push(port);
      }
      await Promise.all(ports.map((port) => cluster.startNode(port)));
      await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      await cluster.waitUntilOk();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** REDIS_CLUSTER_NODES for the instances: every master, though one would do. */
  get seeds(): RedisClusterNode[] {
    return [...this.nodes.keys()].map((port) => ({ host: '127.0.0.1', port }));
  }

  get ports(): number[] {
    return [...this.nodes.keys()];
  }

  /** The port of the master that owns `key`'s (or shard channel's) hash slot, as the cluster says. */
  async masterOf(key: string): Promise<number> {
    const slot = hashSlot(key);
    const ranges = await this.admin(this.ports[0]!, (redis) => redis.cluster('SLOTS'));
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range?.[2]) throw new Error(`no master owns slot ${slot}`);
    return Number(range[2][1]);
  }

  /** A short-lived connection to one node (not cluster-aware), for CLUSTER INFO, KEYSLOT, PUBSUB. */
  async admin<T>(port: number, work: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, lazyConnect: true });
    try {
      await redis.connect();
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  }

  /** SIGKILL of the master on `port`, by PID; resolves once it has exited. */
  async kill(port: number): Promise<void> {
    await this.node(port).kill('SIGKILL');
  }

  /** Starts the master on `port` again from its nodes.conf, and waits until the cluster is ok everywhere. */
  async restart(port: number): Promise<void> {
    if (this.node(port).running) throw new Error(`redis-server :${port} still runs`);
    await this.startNode(port);
    await this.waitUntilOk();
  }

  /** Until every running node reports cluster_state:ok and knows every slot. */
  async waitUntilOk(ms = 20_000): Promise<void> {
    await until(
      async () => {
        const infos = await Promise.all(
          [...this.nodes].filter(([, child]) => child.running).map(([port]) => this.admin(port, (redis) => redis.cluster('INFO') as Promise<string>).catch(() => '')),
        );
        return infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384'));
      },
      ms,
      'the redis cluster to report cluster_state:ok on every node',
    );
  }

  /** Kills every node by PID and removes the folder with their nodes.conf. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.nodes.values()].map((child) => child.kill('SIGKILL')));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private node(port: number): Child {
    const child = this.nodes.get(port);
    if (!child) throw new Error(`no redis cluster node on port ${port}`);
    return child;
  }

  private async startNode(port: number): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', this.dir,
        '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`,
        // A killed master is noticed by its peers within 2 s; without replicas its slots stay down
        // until it is back, and the other masters keep serving theirs.
        '--cluster-node-timeout', '2000',
        '--cluster-require-full-coverage', 'no',
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const node = new Child(`redis-server cluster node :${port}`, child);
    this.nodes.set(port, node);
    await node.waitForLine((line) => line.includes('Ready to accept connections'), 10_000, `redis-server cluster node on port ${port} to be ready`);
  }
}

/** Redis Cluster's bus listens on port + 10000: a node needs both free, and the bus port a valid one. */
const BUS_PORT_OFFSET = 10_000;

async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + BUS_PORT_OFFSET <= 65_535 && (await canListen(port + BUS_PORT_OFFSET))) return port;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** redis-server and redis-cli must be on PATH: a missing one is a failure of the services run, never a skip. */
async function requireRedisTools(): Promise<void> {
  for (const tool of ['redis-server', 'redis-cli']) {
    try {
      await run(tool, ['--version']);
    } catch {
      throw new Error(`${tool} is not on PATH: the Redis Cluster tests start their own cluster (apt-get install -y redis-server)`);
    }
  }
}
