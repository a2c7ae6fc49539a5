import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
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

/** `sh -c` script: soft open-files limit up to the hard one (ignored where that fails), then exec the rest. */
const RAISE_OPEN_FILES = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

/** A child that is not a bench script (redis-server): its output, and kill by PID. */
export class CommandChild {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private readonly lines: string[] = [];
  private readonly watchers: ((line: string) => void)[] = [];
  private exitCode: number | null | undefined;

  constructor(
    readonly name: string,
    proc: ChildProcess,
  ) {
    if (proc.pid === undefined) throw new Error(`${name}: could not start`);
    this.pid = proc.pid;
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        for (const line of chunk.split('\n')) {
          if (!line.trim()) continue;
          this.lines.push(line);
          this.lines.splice(0, Math.max(0, this.lines.length - TAIL_LINES));
          for (const watcher of this.watchers) watcher(line);
        }
      });
    }
    proc.on('error', (error) => this.lines.push(`spawn error: ${error.message}`));
    this.exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve((this.exitCode = code ?? (sig ? -1 : null)))));
  }

  get alive(): boolean {
    return this.exitCode === undefined;
  }

  /** Resolves when the program prints a line that `matches`; rejects if it exits first or after `ms`. */
  waitForLine(matches: (line: string) => boolean, ms: number, what: string): Promise<void> {
    if (this.lines.some(matches)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${ms} ms${this.output()}`)), ms);
      this.watchers.push((line) => {
        if (!matches(line)) return;
        clearTimeout(timer);
        resolve();
      });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code}) before ${what}${this.output()}`));
      });
    });
  }

  output(): string {
    return this.lines.length > 0 ? `\n--- last output of ${this.name} ---\n${this.lines.join('\n')}` : '';
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    signal(this.pid, 'SIGTERM');
    const timer = setTimeout(() => signal(this.pid, 'SIGKILL'), KILL_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Every child the bench started, so each can be killed by PID whatever happens. */
export class Children {
  private readonly started = new Set<BenchChild | CommandChild>();
  private closed = false;

  constructor(private readonly pinning: Pinning | null) {}

  /** Starts `node [nodeArgs] --import tsx bench/<script>` with an IPC channel, pinned when possible. */
  spawn(name: string, script: string, side: keyof Pinning, nodeArgs: string[] = []): BenchChild {
    const child = this.start(name, [process.execPath, ...nodeArgs, '--import', 'tsx', `bench/${script}`], side, ['ignore', 'pipe', 'pipe', 'ipc']);
    return this.track(new BenchChild(name, child));
  }

  /** Starts any other program (redis-server) the same way: pinned, file limit raised, killed by PID with the rest. */
  spawnCommand(name: string, command: string[], side: keyof Pinning): CommandChild {
    return this.track(new CommandChild(name, this.start(name, command, side, ['ignore', 'pipe', 'pipe'])));
  }

  private start(name: string, command: string[], side: keyof Pinning, stdio: StdioOptions): ChildProcess {
    // After killAll() (deadline, signal) a scenario still unwinding must not start anything new.
    if (this.closed) throw new Error(`not starting ${name}: the run is over`);
    const core = this.pinning?.[side];
    // The soft limit on open files goes up to the hard one (node cannot setrlimit itself), so a
    // child may hold as many sockets as this machine allows. sh and taskset exec, so the PID we
    // hold is the program's own.
    const pinned = core === undefined ? command : ['taskset', '-c', core, ...command];
    const child = spawn('sh', ['-c', RAISE_OPEN_FILES, 'sh', ...pinned], { cwd: ROOT, stdio, env: process.env });
    return child;
  }

  private track<T extends BenchChild | CommandChild>(handle: T): T {
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
