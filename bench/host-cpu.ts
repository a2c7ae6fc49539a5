import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

/** CPU time every core of the machine spent busy so far (µs), from /proc/stat; null where there is none. */
export function hostBusyMicros(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    return ((user + nice + system + irq + softirq + steal) * 1e6) / ticksPerSecond;
  } catch {
    return null;
  }
}

/**
 * Watches how much CPU the rest of the machine used while a measurement ran:
 * host busy time minus what our server and load spent. Other work on a 2-core
 * machine (a test suite, a build) skews the figures, and the report says so.
 */
export class HostWatch {
  private readonly startedAt = performance.now();
  private readonly hostBefore = hostBusyMicros();

  constructor(private readonly serverCpuBefore: number) {}

  /** Cores' worth of CPU other processes used meanwhile (0.25 = a quarter of a core); null if unknown. */
  foreignCores(serverCpuAfter: number, loadCpuMicros: number): number | null {
    const hostAfter = hostBusyMicros();
    if (this.hostBefore === null || hostAfter === null) return null;
    const elapsedMicros = (performance.now() - this.startedAt) * 1000;
    const ours = serverCpuAfter - this.serverCpuBefore + loadCpuMicros;
    return Math.max(0, (hostAfter - this.hostBefore - ours) / elapsedMicros);
  }
}

/**
 * Runs one measured load call, noting in its result how much CPU the rest of
 * the machine took meanwhile. `prepare` runs once the machine is quiet and
 * before the measurement: background load of our own (the --typing typists).
 */
export async function watched<T extends { cpuMicros: number; foreignCores?: number | null; serverMicros?: number }>(
  server: CpuSource,
  quiet: QuietGate,
  work: () => Promise<T>,
  prepare: () => Promise<void> = async () => {},
): Promise<T> {
  await quiet.wait();
  await prepare();
  const before = await server.call<{ micros: number }>('cpu');
  const watch = new HostWatch(before.micros);
  const result = await work();
  const after = await server.call<{ micros: number }>('cpu');
  result.foreignCores = watch.foreignCores(after.micros, result.cpuMicros);
  result.serverMicros = after.micros - before.micros;
  return result;
}

/** A server child that reports its CPU time (see probes.ts). */
interface CpuSource {
  call<T>(cmd: 'cpu'): Promise<T>;
}

/**
 * Waits until the rest of the machine has been quiet (below `threshold` cores
 * busy over one `windowMs`), spending at most what is left of a budget shared
 * by the whole run. Call it only while our own children are idle: it counts all
 * busy time as someone else's.
 */
export class QuietGate {
  constructor(
    private remainingMs: number,
    private readonly log: (message: string) => void,
    private readonly threshold = 0.15,
    private readonly windowMs = 1_000,
  ) {}

  async wait(): Promise<void> {
    let warned = false;
    for (;;) {
      const before = hostBusyMicros();
      const startedAt = performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.min(this.windowMs, Math.max(0, this.remainingMs))));
      const after = hostBusyMicros();
      const elapsed = performance.now() - startedAt;
      if (before === null || after === null) return;
      const busy = (after - before) / 1000 / elapsed;
      this.remainingMs -= elapsed;
      if (busy < this.threshold) return;
      if (this.remainingMs <= 0) {
        if (warned) this.log('gave up waiting for a quiet machine: measuring anyway');
        return;
      }
      if (!warned) this.log(`other processes use ${busy.toFixed(2)} cores: waiting for the machine to quiet down (${(this.remainingMs / 1000).toFixed(0)} s of waiting left)`);
      warned = true;
    }
  }
}
