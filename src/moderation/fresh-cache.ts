/**
 * Settings read from the database on every write path (a ban, a room's slow
 * mode), kept briefly so a busy sender costs at most one read per `ttlMs`.
 *
 * Fresh on every instance: a change made anywhere is announced over the
 * pub/sub and drops the entry at once (invalidate), and no entry is trusted
 * longer than `ttlMs`, which bounds staleness when an announcement is lost
 * (a Redis outage). A read that began before an invalidation is not kept, so
 * a slow read never puts back what an announcement removed. Reads of the same
 * tick share one load, so a page of 100 rooms is one query, not 100.
 */
/** Keys per load: far below what either dialect allows as parameters of one statement. */
const LOAD_CHUNK = 500;

export class FreshCache<V> {
  private readonly entries = new Map<string, { value: V; freshUntil: number }>();
  /** Bumped by every invalidation; a load that saw another epoch does not store its answer. */
  private epoch = 0;
  private pending: Map<string, { resolve: (value: V) => void; reject: (error: unknown) => void }[]> | null = null;

  constructor(
    /** The stored values of `keys`; a key left out has `absent`. */
    private readonly load: (keys: string[]) => Promise<Map<string, V>>,
    private readonly absent: V,
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(key: string): Promise<V> {
    const entry = this.entries.get(key);
    if (entry && entry.freshUntil > Date.now()) return Promise.resolve(entry.value);
    return new Promise((resolve, reject) => {
      if (!this.pending) {
        this.pending = new Map();
        queueMicrotask(() => void this.flush());
      }
      const waiters = this.pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(key, [{ resolve, reject }]);
    });
  }

  /** This instance just wrote `value`: keep it (and let no older read overwrite it). */
  set(key: string, value: V): void {
    this.epoch++;
    this.store(key, value);
  }

  /** Another instance changed `key` (or this one did without knowing the value). */
  invalidate(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }

  /** Announcements may have been lost (the pub/sub link came back): trust nothing kept. */
  clear(): void {
    this.epoch++;
    this.entries.clear();
  }

  private async flush(): Promise<void> {
    const batch = this.pending!;
    this.pending = null;
    const epoch = this.epoch;
    const startedAt = Date.now();
    const keys = [...batch.keys()];
    const values = new Map<string, V>();
    try {
      const chunks = [];
      for (let start = 0; start < keys.length; start += LOAD_CHUNK) chunks.push(this.load(keys.slice(start, start + LOAD_CHUNK)));
      for (const chunk of await Promise.all(chunks)) for (const [key, value] of chunk) values.set(key, value);
    } catch (error) {
      for (const waiters of batch.values()) for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const [key, waiters] of batch) {
      const value = values.has(key) ? values.get(key)! : this.absent;
      if (epoch === this.epoch) this.store(key, value, startedAt);
      for (const waiter of waiters) waiter.resolve(value);
    }
  }

  /** Freshness counts from when the read began: what it saw may be that old. */
  private store(key: string, value: V, readAt = Date.now()): void {
    this.entries.delete(key);
    // Bounded: the oldest entry (Map order is insertion order) makes room.
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, freshUntil: readAt + this.ttlMs });
  }
}
