import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { sendMessage, type SentMessage, type TestUser } from './chat.js';
import { gqlOk } from './graphql.js';
import { createTestDatabase, TEST_SECRET, type TestDatabase } from './server.js';
import { until } from './wait.js';
import { subscribe, wsClient, type Subscription } from './ws.js';

/**
 * Several real server processes (`node --import tsx src/main.ts`) and private
 * redis-servers, as an operator would run them. A Cluster owns everything it
 * starts and kills it by PID in stop(), which each test file calls in afterAll.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

export interface Health {
  status: number;
  body: { status: string; reason?: string } | null;
}

/** A child process with its output kept line by line. */
class Child {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly lineWaiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const collect = (stream: NodeJS.ReadableStream | null, lines: string[]) => {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
        for (const wake of this.lineWaiters) wake();
      });
    };
    collect(child.stdout, this.stdout);
    collect(child.stderr, this.stderr);
    this.exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
    void this.exited.then(() => this.lineWaiters.forEach((wake) => wake()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` to this PID and resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    process.kill(this.pid, signal);
    await this.exited;
  }

  /** Resolves with the first stdout line that matches; fails after `ms` or if the process exits first. */
  waitForLine(match: (line: string) => boolean, ms: number, what: string): Promise<string> {
    return new Promise((done, fail) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
        settle();
      };
      const check = () => {
        const line = this.stdout.find(match);
        if (line !== undefined) finish(() => done(line));
        else if (!this.running) finish(() => fail(new Error(`${this.name} exited while waiting for ${what}:\n${this.output()}`)));
      };
      const timer = setTimeout(() => finish(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}:\n${this.output()}`))), ms);
      this.lineWaiters.add(check);
      check();
    });
  }

  /** The last lines of output, for failure messages. */
  output(lines = 30): string {
    return [...this.stdout.slice(-lines), ...this.stderr.slice(-lines).map((l) => `stderr: ${l}`)].join('\n');
  }
}

/** The PostgreSQL URL of a test database; instances on separate processes can only share PostgreSQL. */
export function postgresUrl(database: TestDatabase): string {
  if (database.database.dialect !== 'postgres') throw new Error('cluster instances share a PostgreSQL database');
  return database.database.url;
}

export interface InstanceOptions {
  database: TestDatabase;
  redisUrl: string;
  name?: string;
  presenceTtlSeconds?: number;
}

/** One server process. */
export class Instance extends Child {
  readonly url: string;
  readonly wsUrl: string;
  private readonly clients: Client[] = [];

  constructor(
    name: string,
    child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
  ) {
    super(name, child);
    this.url = `http://127.0.0.1:${port}/graphql`;
    this.wsUrl = `ws://127.0.0.1:${port}/graphql`;
  }

  /** GET /health; a refused connection counts as status 0. */
  async health(): Promise<Health> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}/health`, { signal: AbortSignal.timeout(2_000) });
      const text = await response.text();
      let body: Health['body'] = null;
      try {
        body = JSON.parse(text) as Health['body'];
      } catch {
        // Not JSON: keep null, the status says enough.
      }
      return { status: response.status, body };
    } catch {
      return { status: 0, body: null };
    }
  }

  /** Polls /health until it answers `status`; fails after `ms` or if the process exits. */
  async waitForHealth(status: number, ms: number): Promise<Health> {
    let last: Health = { status: 0, body: null };
    try {
      await until(
        async () => {
          if (!this.running) throw new Error(`${this.name} exited`);
          last = await this.health();
          return last.status === status;
        },
        ms,
        `${this.name} /health ${status}`,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message} (last: ${JSON.stringify(last)})\n${this.output()}`);
    }
    return last;
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
    const databaseUrl = postgresUrl(options.database);
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'chat-cluster-'));
    this.dataDirs.push(dataDir);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        REDIS_URL: options.redisUrl,
        JWT_SECRET: TEST_SECRET,
        DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        PRESENCE_TTL_SECONDS: String(options.presenceTtlSeconds ?? 3),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const instance = new Instance(options.name ?? `instance :${port}`, child, port, dataDir);
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
export function watchHealth(instance: Instance): { changes: (Health & { at: number })[]; stop(): Promise<(Health & { at: number })[]> } {
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

/** Room.participantCount over HTTP, as a room list would show it. */
export async function participantCountOf(url: string, roomId: string): Promise<number> {
  const data = await gqlOk<{ room: { participantCount: number } }>(url, 'query($id: ID!) { room(id: $id) { participantCount } }', { id: roomId });
  return data.room.participantCount;
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
