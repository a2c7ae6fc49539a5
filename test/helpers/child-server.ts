import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { deferred, until, within } from './wait.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The real entry point (src/main.ts) in a process of its own, as `npm start` runs it. */
export interface ChildServer {
  pid: number;
  url: string;
  /** Everything it printed on stdout and stderr so far. */
  output(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(name: NodeJS.Signals): void;
}

const spawned = new Set<ChildProcess>();

/** A port nobody listens on right now: the OS picks one, and we let go of it for the child. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Starts `node --import tsx src/main.ts` with exactly `env` (plus PATH and HOME)
 * on a free port and waits until GET /health answers 200.
 */
export async function spawnServer(env: Record<string, string>, readyWithinMs = 20_000): Promise<ChildServer> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const exit = deferred<{ code: number | null; signal: NodeJS.Signals | null }>();
  // 'close', not 'exit': by then everything it printed has been read.
  child.once('close', (code, signal) => {
    spawned.delete(child);
    exit.resolve({ code, signal });
  });

  const origin = `http://127.0.0.1:${port}`;
  let gone = false;
  const died = exit.promise.then(({ code, signal }) => {
    gone = true;
    throw new Error(`server exited before it was ready (code ${code}, signal ${signal}):\n${output}`);
  });
  const ready = until(() => gone || fetch(`${origin}/health`).then((r) => r.status === 200, () => false), readyWithinMs, 'the server to report ready on /health');
  try {
    await Promise.race([ready, died]);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    died.catch(() => {});
  }

  return {
    pid: child.pid!,
    url: `${origin}/graphql`,
    output: () => output,
    exited: exit.promise,
    signal: (name) => child.kill(name),
  };
}

/** Sends SIGTERM and resolves with the exit once the process is gone; fails after `ms`. */
export async function terminate(server: ChildServer, ms = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  server.signal('SIGTERM');
  return within(server.exited, ms, `server ${server.pid} to exit after SIGTERM`);
}

/** Kills (by pid, SIGKILL) every server spawned here that is still running: for afterAll. */
export async function killSpawnedServers(): Promise<void> {
  const running = [...spawned];
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('close', () => resolve());
          if (child.exitCode !== null || child.signalCode !== null || !child.kill('SIGKILL')) resolve();
        }),
    ),
  );
}
