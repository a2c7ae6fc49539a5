import { runCleanups, withCleanup, type Cleanups } from './cleanups.js';

/**
 * An async iterator fed by push(): the bridge from callback-style events to a
 * GraphQL subscription resolver. Bounded: a consumer that falls `limit` events
 * behind is ended with an error rather than growing the queue without end.
 */
export class PushQueue<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private waiting: ((result: IteratorResult<T>) => void) | null = null;
  private failWaiting: ((error: unknown) => void) | null = null;
  private done = false;
  private failure: unknown = null;
  private cleanups: Cleanups = null;

  constructor(private readonly limit = 10_000) {}

  push(value: T): void {
    // After a failure (an overflow) nothing more is delivered: a value after the dropped one would
    // leave a gap that a client resuming from the last value it saw could never fill.
    if (this.done || this.failure !== null) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = this.failWaiting = null;
      resolve({ value, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.fail(new Error('subscriber is too slow: event queue overflowed'));
      return;
    }
    this.buffer.push(value);
  }

  /** Ends the stream with an error after the buffered events. */
  fail(error: unknown): void {
    if (this.done) return;
    this.failure = error;
    if (this.failWaiting) {
      const reject = this.failWaiting;
      this.waiting = this.failWaiting = null;
      this.finish();
      reject(error);
    }
  }

  /** Runs when the stream ends for any reason: the consumer stopped, or an error. */
  onEnd(cleanup: () => void): void {
    if (this.done) cleanup();
    else this.cleanups = withCleanup(this.cleanups, cleanup);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.buffer.length > 0) return Promise.resolve({ value: this.buffer.shift()!, done: false });
    if (this.failure !== null && !this.done) {
      this.finish();
      return Promise.reject(this.failure);
    }
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.finish();
    if (this.waiting) this.waiting({ value: undefined, done: true });
    this.waiting = this.failWaiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.finish();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.buffer.length = 0;
    const cleanups = this.cleanups;
    this.cleanups = null;
    runCleanups(cleanups);
  }
}
