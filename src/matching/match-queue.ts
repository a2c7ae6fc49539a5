import type { QueuedWaiter, QueuePlace } from './matching.js';

/**
 * The waiting queues, one per topic, shared by every instance that shares it.
 * Each operation is atomic: two waiters entering at once can never take the
 * same partner, and a waiter that left can never be taken.
 */
export interface MatchQueue {
  /**
   * Takes the oldest waiter of another user off the queue and returns it, or,
   * when there is none, queues `waiter` at `place` and returns null. Waiters of
   * the same user stay queued: a user is never paired with themselves.
   */
  enter(queue: string, waiter: QueuedWaiter, place: QueuePlace): Promise<QueuedWaiter | null>;
  /** Takes the waiter off the queue; false when it was not there (another waiter took it first). */
  leave(queue: string, waiter: QueuedWaiter): Promise<boolean>;
  /**
   * How often renew() must run while this instance has waiters; null when the
   * queue lives and dies with this process and needs no renewing.
   */
  readonly renewIntervalMs: number | null;
  /**
   * Keeps this instance's waiters queued in the given queues. True when they had
   * lapsed (nothing renewed them for too long, as for a crashed instance, so the
   * other instances dropped them): each must then rejoin.
   */
  renew(queues: string[]): Promise<boolean>;
  /** Withdraws this instance: whatever of its waiters is still queued counts for nobody. */
  close(): Promise<void>;
}
