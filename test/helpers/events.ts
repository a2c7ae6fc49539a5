import { within } from './wait.js';

/**
 * Events from a stream (a graphql-ws subscription, an SSE response) as a test
 * reads them: next() waits boundedly for the next one, take(n) for several, and
 * a failure of the stream surfaces in whichever is waiting.
 */
export class EventQueue<T> {
  readonly received: T[] = [];
  private failure: unknown = null;
  private cursor = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly what: string) {}

  push(event: T): void {
    this.received.push(event);
    this.wake();
  }

  /** Ends the stream with an error; the first failure wins. */
  fail(error: unknown): void {
    this.failure ??= error;
    this.wake();
  }

  get failed(): unknown {
    return this.failure;
  }

  next(ms = 5_000): Promise<T> {
    return within(this.nextEvent(), ms, this.what);
  }

  async take(count: number, ms = 10_000): Promise<T[]> {
    const out: T[] = [];
    await within(
      (async () => {
        while (out.length < count) out.push(await this.nextEvent());
      })(),
      ms,
      `${count} × ${this.what}`,
    );
    return out;
  }

  private async nextEvent(): Promise<T> {
    while (this.cursor >= this.received.length) {
      if (this.failure) throw this.failure instanceof Error ? this.failure : new Error(JSON.stringify(this.failure));
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    return this.received[this.cursor++]!;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}
