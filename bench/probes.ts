import type { Handlers } from './ipc.js';

export interface CpuTime {
  /** User plus system CPU time of the whole process (every thread), µs. */
  micros: number;
}

export interface MemoryReading {
  rss: number;
  heapUsed: number;
  external: number;
}

/**
 * What the orchestrator asks of any server child: its CPU time (around a burst),
 * its memory after a full GC (around idle connections), and its monotonic clock
 * (to cut the burst out of a --cpu-prof profile, whose timestamps use the same clock).
 */
export function probeHandlers(): Handlers {
  return {
    cpu: (): CpuTime => {
      const { user, system } = process.cpuUsage();
      return { micros: user + system };
    },
    memory: async (): Promise<MemoryReading> => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('start the server child with --expose-gc to read memory after GC');
      // Several rounds, with a turn of the event loop between, so finalizers and weak callbacks settle.
      for (let round = 0; round < 3; round++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { rss, heapUsed, external } = process.memoryUsage();
      return { rss, heapUsed, external };
    },
    now: (): number => Number(process.hrtime.bigint() / 1000n),
  };
}
