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
 * its memory after a full GC (around idle connections) and at its peak (during a burst), and its monotonic clock
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
    /** Starts sampling RSS every PEAK_SAMPLE_MS (around a burst: what the send buffers take at the worst moment). */
    peakStart: (): void => {
      peakRss = process.memoryUsage.rss();
      clearInterval(peakTimer);
      peakTimer = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), PEAK_SAMPLE_MS);
    },
    /** Stops sampling; the largest RSS seen since peakStart, in bytes. */
    peakStop: (): number => {
      clearInterval(peakTimer);
      return Math.max(peakRss, process.memoryUsage.rss());
    },
  };
}

const PEAK_SAMPLE_MS = 20;
let peakRss = 0;
let peakTimer: NodeJS.Timeout | undefined;
