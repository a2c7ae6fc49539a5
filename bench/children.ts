import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { IpcReady, IpcReply } from './ipc.js';

/** The repository root: children run from here so `--import tsx` resolves. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Which core each side gets; null when taskset is missing and everything runs unpinned. */
export interface Pinning {
  server: string;
  load: string;
}

export function detectPinning(): Pinning | null {
  const taskset = spawnSync('sh', ['-c', 'command -v taskset'], { stdio: 'ignore' }).status === 0;
  const cores = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim();
  return taskset && Number(cores) >= 2 ? { server: '0', load: '1' } : null;
}

export interface SpawnOptions {
  /** Core list for taskset -c; null runs unpinned. */
  core: string | null;
  /** Node flags before `--import tsx`, e.g. --expose-gc, --cpu-prof. */
  nodeArgs?: string[];
}

const TAIL_LINES = 40;
const KILL_GRACE_MS = 2_000;

/** One child process the bench started: an RPC handle plus what it printed last. */
export class BenchChild {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  /** Resolves once the child listens for commands. */
  private readonly ready: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly tail: string[] = [];
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    if (proc.pid === undefined) throw new Error(`${name}: could not start`);
    this.pid = proc.pid;
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) if (line.trim()) this.tail.push(line);
        this.tail.splice(0, Math.max(0, this.tail.length - TAIL_LINES));
      });
    }
    // A child that cannot start (no taskset, no node) must not crash the orchestrator.
    proc.on('error', (error) => this.tail.push(`spawn error: ${error.message}`));
    let markReady: () => void = () => {};
    this.ready = new Promise((resolve) => (markReady = resolve));
    proc.on('message', (reply: IpcReply | IpcReady) => {
      if ('ready' in reply) return markReady();
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`${name}: ${reply.error}`));
    });
    this.exited = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        const why = new Error(`${name} (pid ${this.pid}) exited (${signal ?? code}) with a request open${this.output()}`);
        for (const waiter of this.pending.values()) waiter.reject(why);
        this.pending.clear();
        resolve(code);
      });
    });
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Sends a command and waits for its reply, at most `timeoutMs`. */
  call<T>(cmd: string, args?: unknown, timeoutMs = 60_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`${this.name} has exited${this.output()}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: "${cmd}" got no reply within ${timeoutMs} ms${this.output()}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.ready.then(() => {
        // Fails when the child is gone meanwhile; its exit handler rejects the call.
        this.proc.send({ id, cmd, args }, () => {});
      });
    });
  }

  /** The last lines the child printed, for error messages. */
  output(): string {
    return this.tail.length > 0 ? `\n--- last output of ${this.name} ---\n${this.tail.join('\n')}` : '';
  }

  /** SIGTERM by PID, then SIGKILL if it has not exited within the grace period. */
  async kill(): Promise<void> {
    if (!this.alive) return;
    signal(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signal(this.pid, 'SIGKILL'), KILL_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Every child the bench started, so each can be killed by PID whatever happens. */
export class Children {
  private readonly started = new Set<BenchChild>();
  private closed = false;

  constructor(private readonly pinning: Pinning | null) {}

  /** Starts `node [nodeArgs] --import tsx bench/<script>` with an IPC channel, pinned when possible. */
  spawn(name: string, script: string, side: keyof Pinning, nodeArgs: string[] = []): BenchChild {
    // After killAll() (deadline, signal) a scenario still unwinding must not start anything new.
    if (this.closed) throw new Error(`not starting ${name}: the run is over`);
    const node = [process.execPath, ...nodeArgs, '--import', 'tsx', `bench/${script}`];
    const core = this.pinning?.[side];
    // taskset execs node, so the PID we hold is node's own.
    const [command, ...args] = core === undefined ? node : ['taskset', '-c', core, ...node];
    const child = spawn(command!, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: process.env });
    const handle = new BenchChild(name, child);
    this.started.add(handle);
    void handle.exited.then(() => this.started.delete(handle));
    return handle;
  }

  /** Kills every child still running, each by its PID. */
  async killAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.started].map((child) => child.kill()));
  }
}
