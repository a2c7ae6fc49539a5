import { runCleanups, withCleanup, type Cleanups } from './cleanups.js';

/**
 * What graphql-ws holds for a subscription whose events go to the socket some
 * other way (the fan-out fast path): an iterator that yields nothing and ends
 * when graphql-ws returns it (the client completed, or the socket closed).
 * Lighter than a queue: one pending promise per subscription.
 */
export class HeldSubscription implements AsyncIterableIterator<never> {
  private finish: ((result: IteratorResult<never>) => void) | null = null;
  private cleanups: Cleanups = null;
  private ended = false;

  /** Runs when the subscription ends; at once if it already has. */
  onEnd(cleanup: () => void): void {
    if (this.ended) cleanup();
    else this.cleanups = withCleanup(this.cleanups, cleanup);
  }

  get done(): boolean {
    return this.ended;
  }

  next(): Promise<IteratorResult<never>> {
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.finish = resolve));
  }

  return(): Promise<IteratorResult<never>> {
    if (!this.ended) {
      this.ended = true;
      const cleanups = this.cleanups;
      this.cleanups = null;
      runCleanups(cleanups);
      this.finish?.({ value: undefined, done: true });
      this.finish = null;
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<never>> {
    void this.return();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
