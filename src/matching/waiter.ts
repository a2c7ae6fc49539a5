import type { MatchFound, QueuedWaiter } from './matching.js';

/** Where one waiter's outcome goes: its match, or why it has none. Called at most once in all. */
export interface MatchHandlers {
  found(match: MatchFound): void;
  failed(error: unknown): void;
}

/**
 * A waiter's life on this instance:
 * entering (its queue operation is under way) → queued (in the queue) →
 * offered (taken off by another waiter and held for it) → matched;
 * or entering → offering (it took a partner and is offering) → matched;
 * from offered or offering back to entering when the match falls through;
 * left from anywhere, once its subscription ends.
 */
export type WaiterState = 'entering' | 'queued' | 'offering' | 'offered' | 'matched' | 'left';

/** One matchFound subscription of this instance, as the matching service tracks it. */
export class Waiter {
  private current: WaiterState = 'entering';
  /** While offered: the offer this waiter accepted, and the timer that gives up on its room. */
  offer: { id: string; from: QueuedWaiter; timer: NodeJS.Timeout } | null = null;
  /** A queue operation for it is under way: never two at once, or an old answer would pass for the new one's. */
  entering = false;
  /** Taken off the queue while its operation was under way: look again once it is answered. */
  recheck = false;

  constructor(
    readonly queue: string,
    readonly entry: QueuedWaiter,
    readonly handlers: MatchHandlers,
  ) {}

  /** Read through a method, so a check after an await is not narrowed by an assignment before it. */
  get state(): WaiterState {
    return this.current;
  }

  become(state: WaiterState): void {
    this.current = state;
  }

  dropOffer(): void {
    if (this.offer) clearTimeout(this.offer.timer);
    this.offer = null;
  }
}
