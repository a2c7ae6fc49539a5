import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Config, RedisClusterNode } from '../../src/config.js';
import { sendMessage, type SentMessage, type TestUser } from './chat.js';
import { Child, freePort, ServerProcess, type Health } from './processes.js';
import { createTestDatabase, testConfig, type TestDatabase } from './server.js';
import { until } from './wait.js';
import { subscribe, wsClient, type Subscription } from './ws.js';

/**
 * Several real server processes (`node --import tsx src/main.ts`) and private
 * redis-servers, as an operator would run them. A Cluster owns everything it
 * starts and kills it by PID in stop(), which each test file calls in afterAll.
 */

/** The PostgreSQL URL of a test database; instances on separate processes can only share PostgreSQL. */
export function postgresUrl(database: TestDatabase): string {
  if (database.database.dialect !== 'postgres') throw new Error('cluster instances share a PostgreSQL database');
  return database.database.url;
}

/**
 * The deployment id of a database the instances share: what prefixes their
 * Redis keys and channels (a test looks for them by it).
 */
export async function deploymentIdOf(database: TestDatabase): Promise<string> {
  const client = new pg.Client({ connectionString: postgresUrl(database) });
  await client.connect();
  try {
    return (await client.query<{ id: string }>('select id from deployment')).rows[0]!.id;
  } finally {
    await client.end();
  }
}

export interface InstanceOptions {
  database: TestDatabase;
  /** A single Redis; with `redisCluster`, give null. */
  redisUrl: string | null;
  /** A Redis Cluster's seed nodes (REDIS_CLUSTER_NODES) instead of redisUrl. */
  redisCluster?: RedisClusterNode[];
  name?: string;
  presenceTtlSeconds?: number;
  /** More environment for the process (ADMIN_TOKEN, say). */
  env?: Record<string, string>;
}

/** One server process, with graphql-ws clients of its own. */
export class Instance extends ServerProcess {
  private readonly clients: Client[] = [];

  constructor(
    name: string,
    readonly config: Config,
    extraEnv?: Record<string, string>,
  ) {
    super(config, name, extraEnv);
  }

  /** A graphql-ws client of this instance for `user`; disposed when the cluster stops. */
  client(user: TestUser): Client {
    const client = wsClient(this.wsUrl, { authorization: `Bearer ${user.token}` });
    this.clients.push(client);
    return client;
  }

  /** Subscribes `user` to the room's messages on this instance. */
  messages(user: TestUser, roomId: string): Subscription<{ messageAdded: Pick<SentMessage, 'id' | 'seq' | 'body'> }> {
    return subscribe(this.client(user), 'subscription($roomId: ID!) { messageAdded(roomId: $roomId) { id seq body } }', { roomId });
  }

  /** Subscribes `user` to the room's participant count on this instance. */
  participantCount(user: TestUser, roomId: string): Subscription<{ participantCount: { roomId: string; count: number } }> {
    return subscribe(this.client(user), 'subscription($roomId: ID!) { participantCount(roomId: $roomId) { roomId count } }', { roomId });
  }

  async dispose(): Promise<void> {
    await Promise.allSettled(this.clients.splice(0).map((client) => client.dispose()));
  }
}

/** A redis-server of the test's own, which it may stop and start at will. */
export class RedisServer extends Child {
  readonly url: string;

  constructor(
    child: ChildProcess,
    readonly port: number,
  ) {
    super(`redis-server :${port}`, child);
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** A short-lived admin connection, for CLIENT LIST, CLIENT KILL, INFO. */
  async admin<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
    const redis = new Redis(this.url, { maxRetriesPerRequest: 0 });
    try {
      return await work(redis);
    } finally {
      redis.disconnect();
    }
  }

  /**
   * The Redis client id of `instance`'s connection named `name` (chat-command or
   * chat-subscriber), found by matching the client's address with the process's own sockets.
   */
  async clientIdOf(instance: Instance, name: string): Promise<string> {
    // lsof -F n prints "n<local>-><remote>" for each of the process's TCP sockets.
    const sockets = execFileSync('lsof', ['-a', '-p', String(instance.pid), '-iTCP', '-nP', '-Fn']).toString();
    const localAddresses = new Set([...sockets.matchAll(new RegExp(`^n(\\S+)->127\\.0\\.0\\.1:${this.port}$`, 'gm'))].map((m) => m[1]));
    const clients = (await this.admin((redis) => redis.client('LIST'))) as string;
    const line = clients.split('\n').find((l) => l.includes(` name=${name} `) && localAddresses.has(/ addr=(\S+) /.exec(l)?.[1]));
    if (!line) throw new Error(`no ${name} connection of ${instance.name} in CLIENT LIST:\n${clients}`);
    return /^id=(\d+) /.exec(line)![1]!;
  }
}

export class Cluster {
  private readonly children = new Set<Child>();
  private readonly databases: TestDatabase[] = [];
  private readonly dataDirs: string[] = [];

  /** A fresh PostgreSQL database, dropped in stop(). */
  async database(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    this.databases.push(database);
    return database;
  }

  /** Spawns a server process; it is not ready yet (see waitForHealth). */
  async startInstance(options: InstanceOptions): Promise<Instance> {
    const config = testConfig({
      port: await freePort(),
      database: { dialect: 'postgres', url: postgresUrl(options.database) },
      redisUrl: options.redisUrl,
      redisClusterNodes: options.redisCluster ?? null,
      logLevel: 'warn',
      presenceTtlSeconds: options.presenceTtlSeconds ?? 3,
    });
    this.dataDirs.push(config.dataDir);
    const instance = new Instance(options.name ?? `instance :${config.port}`, config, options.env);
    this.children.add(instance);
    return instance;
  }

  /** Spawns a server process and waits until /health says it is ready. */
  async startReadyInstance(options: InstanceOptions, ms = 30_000): Promise<Instance> {
    const instance = await this.startInstance(options);
    await instance.waitForHealth(200, ms);
    return instance;
  }

  /** Instances A and B on the same database and Redis, both ready. */
  async startReadyPair(options: Omit<InstanceOptions, 'name'>): Promise<[Instance, Instance]> {
    return Promise.all([this.startReadyInstance({ ...options, name: 'A' }), this.startReadyInstance({ ...options, name: 'B' })]);
  }

  /** Starts a private redis-server (no persistence) on `port` and waits until it accepts connections. */
  async startRedis(port?: number): Promise<RedisServer> {
    const chosen = port ?? (await freePort());
    const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const redis = new RedisServer(child, chosen);
    this.children.add(redis);
    await redis.waitForLine((line) => line.includes('Ready to accept connections'), 10_000, `redis-server on port ${chosen} to be ready`);
    return redis;
  }

  /** Kills every process this cluster started, by PID, then drops its databases and folders. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.children].map((child) => (child instanceof Instance ? child.dispose() : undefined)));
    await Promise.allSettled([...this.children].map((child) => child.kill('SIGKILL')));
    this.children.clear();
    await Promise.allSettled(this.databases.splice(0).map((database) => database.drop()));
    for (const dir of this.dataDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Polls an instance's /health every 25 ms until stopped and keeps each change of
 * status, so a test can tell "503 while Redis was down, then 200 for good" from a flapping probe.
 */
export function watchHealth(instance: ServerProcess): { changes: (Health & { at: number })[]; stop(): Promise<(Health & { at: number })[]> } {
  const changes: (Health & { at: number })[] = [];
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const health = await instance.health();
      if (health.status !== changes.at(-1)?.status) changes.push({ ...health, at: Date.now() });
      await new Promise((wake) => setTimeout(wake, 25));
    }
  })();
  return {
    changes,
    async stop() {
      stopped = true;
      await polling;
      return changes;
    },
  };
}

type MessageSubscription = ReturnType<Instance['messages']>;

/**
 * Sends probe messages until every subscriber has received one, so each is known
 * to be live. Returns the last probe: everything after it must reach everyone.
 */
export async function probeUntilLive(target: Instance, sender: TestUser, roomId: string, subscribers: MessageSubscription[], ms = 10_000): Promise<SentMessage> {
  const deadline = Date.now() + ms;
  for (let attempt = 1; ; attempt++) {
    const probe = await sendMessage(target.url, sender.token, roomId, `probe ${attempt}`);
    const seen = () => subscribers.every((s) => s.received.some((event) => event.messageAdded.seq >= probe.seq));
    try {
      await until(seen, Math.min(1_000, Math.max(deadline - Date.now(), 0)), 'the probe');
      return probe;
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`subscribers not live after ${ms} ms: ${(error as Error).message}`);
    }
  }
}

/** The seqs a subscriber received, in arrival order. */
export function seqsOf(subscription: MessageSubscription): number[] {
  return subscription.received.map((event) => event.messageAdded.seq);
}

/** from, from+1, …, to. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(to - from + 1, 0) }, (_, i) => from + i);
}

/**
 * Sends `total` messages about `perSecond` a second, one at a time, to each
 * target in turn. reached(n) resolves once n have been committed.
 */
export function pacedSender(targets: Instance[], sender: TestUser, roomId: string, total: number, perSecond: number) {
  const sent: SentMessage[] = [];
  const milestones: { count: number; resolve: () => void }[] = [];
  const started = Date.now();
  const done = (async () => {
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / perSecond;
      // Pacing the load, not waiting for an outcome.
      if (due > Date.now()) await new Promise((wake) => setTimeout(wake, due - Date.now()));
      const target = targets[n % targets.length]!;
      sent.push(await sendMessage(target.url, sender.token, roomId, `paced ${n}`));
      for (const milestone of milestones.filter((m) => m.count <= sent.length)) {
        milestones.splice(milestones.indexOf(milestone), 1);
        milestone.resolve();
      }
    }
    return sent;
  })();
  // A failed send fails whoever awaits done or reached(); it is not an unhandled rejection meanwhile.
  done.catch(() => {});
  return {
    sent,
    done,
    reached(count: number): Promise<void> {
      if (sent.length >= count) return Promise.resolve();
      return Promise.race([
        new Promise<void>((resolve) => milestones.push({ count, resolve })),
        done.then(() => {
          if (sent.length < count) throw new Error(`the sender stopped at ${sent.length} of ${count}`);
        }),
      ]);
    },
  };
}
