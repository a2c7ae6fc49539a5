/** Latency summaries: exact percentiles over every sample (the bench keeps them all). */
export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; `samples` is sorted in place. NaN everywhere when empty. */
export function summarize(samples: Float64Array | number[]): LatencySummary {
  const sorted = samples instanceof Float64Array ? samples.sort() : Float64Array.from(samples).sort();
  const count = sorted.length;
  if (count === 0) return { count, p50: NaN, p99: NaN, max: NaN };
  const rank = (p: number) => sorted[Math.min(count - 1, Math.max(0, Math.ceil((p / 100) * count) - 1))]!;
  return { count, p50: rank(50), p99: rank(99), max: sorted[count - 1]! };
}

/** A growable Float64Array: millions of latency samples without boxing. */
export class Samples {
  private data: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.data = new Float64Array(Math.max(16, capacity));
  }

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  summarize(): LatencySummary {
    return summarize(this.data.subarray(0, this.length));
  }
}
