import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import { rateLimitsEnv, trustProxyEnv } from '../../src/transports/budgets/budgets.config.js';
import { queryLimitsEnv } from '../../src/transports/limits/limits-config.js';
import { until, within } from './wait.js';

/**
 * Processes the tests start (the real entry point, redis-servers): spawned,
 * watched and killed by PID in one way, whoever starts them.
 */

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A TCP port nothing listens on right now: the OS picks one, and we let go of it for the child. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Every process started here that has not exited yet. */
const spawned = new Set<Child>();

/** A child process with its output kept line by line. */
export class Child {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Settles once the process has exited and everything it printed has been read. */
  readonly exited: Promise<Exit>;
  private readonly lineWaiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    spawned.add(this);
    const collect = (stream: NodeJS.ReadableStream | null, lines: string[]) => {
      let partial = '';
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        lines.push(...parts);
        for (const wake of this.lineWaiters) wake();
      });
      stream?.on('end', () => {
        if (partial !== '') lines.push(partial);
      });
    };
    collect(child.stdout, this.stdout);
    collect(child.stderr, this.stderr);
    // 'close', not 'exit': by then the last lines it printed have been read.
    this.exited = new Promise((done) =>
      child.once('close', (code, signal) => {
        spawned.delete(this);
        done({ code, signal });
      }),
    );
    void this.exited.then(() => this.lineWaiters.forEach((wake) => wake()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` to this PID (if it still runs) and resolves with the exit once the process is gone. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, signal);
    return this.exited;
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
        else if (!this.running) finish(() => fail(new Error(`${this.name} exited while waiting for ${what}:\n${this.output(30)}`)));
      };
      const timer = setTimeout(() => finish(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}:\n${this.output(30)}`))), ms);
      this.lineWaiters.add(check);
      check();
    });
  }

  /** What it printed (the last `lines` of each stream, for failure messages), stdout first. */
  output(lines = Infinity): string {
    const last = (all: string[]) => (lines === Infinity ? all : all.slice(-lines));
    return [...last(this.stdout), ...last(this.stderr).map((l) => `stderr: ${l}`)].join('\n');
  }
}

/**
 * The environment under which src/main.ts runs with `config` (its WebSocket
 * tuning aside, which the environment does not set). A blocklist is written
 * to a file in the config's data folder.
 */
export function configEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {
    HOST: config.host,
    PORT: String(config.port),
    DATA_DIR: config.dataDir,
    TOKEN_TTL_SECONDS: String(config.tokenTtlSeconds),
    LOG_LEVEL: config.logLevel,
    PRESENCE_TTL_SECONDS: String(config.presenceTtlSeconds),
  };
  if (config.database.dialect === 'postgres') {
    env.DATABASE_URL = config.database.url;
    if (config.database.poolSize !== undefined) env.DATABASE_POOL_SIZE = String(config.database.poolSize);
  }
  // Left unset where it is the default (as an operator would run it), named otherwise.
  else if (config.database.file !== join(config.dataDir, 'chat.db')) env.DATABASE_URL = `sqlite:${config.database.file}`;
  if (config.redisUrl !== null) env.REDIS_URL = config.redisUrl;
  if (config.redisClusterNodes) env.REDIS_CLUSTER_NODES = config.redisClusterNodes.map((node) => `${node.host}:${node.port}`).join(',');
  if (config.jwtSecret !== null) env.JWT_SECRET = config.jwtSecret;
  if (config.allowedOrigins !== null) env.ALLOWED_ORIGINS = config.allowedOrigins.join(',');
  if (config.adminToken !== null) env.ADMIN_TOKEN = config.adminToken;
  Object.assign(env, rateLimitsEnv(config.rateLimits), trustProxyEnv(config.trustProxy));
  Object.assign(env, queryLimitsEnv(config.queryLimits));
  if (config.operations.metricsToken !== null) env.METRICS_TOKEN = config.operations.metricsToken;
  env.ACCESS_LOG = config.operations.accessLog ? 'on' : 'off';
  env.DATABASE_START_WAIT_SECONDS = String(config.operations.databaseStartWaitMs / 1000);
  if (config.blocklist !== null) {
    env.BLOCKLIST_FILE = join(config.dataDir, 'blocklist.txt');
    writeFileSync(env.BLOCKLIST_FILE, config.blocklist.map((entry) => `${entry}\n`).join(''));
  }
  return env;
}

export interface Health {
  status: number;
  body: { status: string; reason?: string } | null;
}

/**
 * The real entry point (`node --import tsx src/main.ts`, as `npm start` runs it)
 * in a process of its own, with exactly the environment of `config` (plus PATH,
 * HOME and `extraEnv`). Not ready yet: see waitForHealth.
 */
export class ServerProcess extends Child {
  readonly port: number;
  readonly url: string;
  readonly wsUrl: string;

  constructor(config: Config, name = `server :${config.port}`, extraEnv: Record<string, string> = {}) {
    super(
      name,
      spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: projectRoot,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...configEnv(portChosen(config)), ...extraEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    this.port = config.port;
    this.url = `http://127.0.0.1:${config.port}/graphql`;
    this.wsUrl = `ws://127.0.0.1:${config.port}/graphql`;
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
      throw new Error(`${(error as Error).message} (last: ${JSON.stringify(last)})\n${this.output(30)}`);
    }
    return last;
  }
}

function portChosen(config: Config): Config {
  if (config.port === 0) throw new Error('a server process needs its port chosen before it starts (freePort()), so the test knows where it listens');
  return config;
}

/** A server process on a free port with `config`, once GET /health answers 200; killed if it never does. */
export async function spawnServer(config: Config, readyWithinMs = 20_000): Promise<ServerProcess> {
  const server = new ServerProcess({ ...config, port: await freePort() });
  try {
    await server.waitForHealth(200, readyWithinMs);
  } catch (error) {
    await server.kill('SIGKILL');
    throw error;
  }
  return server;
}

/** Sends SIGTERM and resolves with the exit once the process is gone; fails after `ms`. */
export function terminate(child: Child, ms = 10_000): Promise<Exit> {
  return within(child.kill('SIGTERM'), ms, `${child.name} (pid ${child.pid}) to exit after SIGTERM`);
}

/** Kills (by PID, SIGKILL) every process started here that is still running: for afterAll. */
export async function killSpawned(): Promise<void> {
  await Promise.all([...spawned].map((child) => child.kill('SIGKILL')));
}
