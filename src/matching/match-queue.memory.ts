import type { MatchQueue } from './match-queue.js';
import type { QueuedWaiter, QueuePlace } from './matching.js';

/** The queues of a single instance: arrays in this process; atomic because nothing runs between the steps. */
export class InProcessMatchQueue implements MatchQueue {
  readonly renewIntervalMs = null;
  private readonly queues = new Map<string, QueuedWaiter[]>();

  async enter(queue: string, waiter: QueuedWaiter, place: QueuePlace): Promise<QueuedWaiter | null> {
    const waiting = this.queues.get(queue) ?? [];
    if (place === 'rejoin' && waiting.some((queued) => queued.id === waiter.id)) return null;
    const index = waiting.findIndex((queued) => queued.user.id !== waiter.user.id);
    if (index >= 0) {
      const [partner] = waiting.splice(index, 1);
      if (waiting.length === 0) this.queues.delete(queue);
      return partner!;
    }
    if (place === 'tail') waiting.push(waiter);
    else waiting.unshift(waiter);
    this.queues.set(queue, waiting);
    return null;
  }

  async leave(queue: string, waiter: QueuedWaiter): Promise<boolean> {
    const waiting = this.queues.get(queue);
    const index = waiting?.findIndex((queued) => queued.id === waiter.id) ?? -1;
    if (index < 0) return false;
    waiting!.splice(index, 1);
    if (waiting!.length === 0) this.queues.delete(queue);
    return true;
  }

  async renew(): Promise<boolean> {
    return false;
  }

  async close(): Promise<void> {
    this.queues.clear();
  }

  /** How many wait in `queue`; for tests that check everything returned to zero. */
  size(queue?: string): number {
    if (queue !== undefined) return this.queues.get(queue)?.length ?? 0;
    let total = 0;
    for (const waiting of this.queues.values()) total += waiting.length;
    return total;
  }
}
