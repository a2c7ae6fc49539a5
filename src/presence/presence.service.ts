/**
 * Who is in a room right now: the distinct users holding a messageAdded
 * subscription to it, over every transport. One user with two sockets counts once.
 */
export class PresenceService {
  /** roomId → userId → how many of that user's subscriptions are open here. */
  private readonly rooms = new Map<string, Map<string, number>>();
  private readonly watchers = new Map<string, RoomWatch>();

  /** Marks the user present until the returned function is called (once). */
  join(roomId: string, userId: string): () => void {
    let users = this.rooms.get(roomId);
    if (!users) this.rooms.set(roomId, (users = new Map()));
    const before = users.get(userId) ?? 0;
    users.set(userId, before + 1);
    if (before === 0) this.changed(roomId);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const count = users.get(userId)! - 1;
      if (count > 0) {
        users.set(userId, count);
        return;
      }
      users.delete(userId);
      if (users.size === 0 && this.rooms.get(roomId) === users) this.rooms.delete(roomId);
      this.changed(roomId);
    };
  }

  count(roomId: string): number {
    return this.rooms.get(roomId)?.size ?? 0;
  }

  /**
   * Calls `listener` with the count now, then with each new value, coalesced to
   * at most one call per COALESCE_MS per room; the final value always arrives.
   */
  watch(roomId: string, listener: (count: number) => void): () => void {
    let watch = this.watchers.get(roomId);
    if (!watch) this.watchers.set(roomId, (watch = new RoomWatch(() => this.count(roomId))));
    watch.listeners.add(listener);
    listener(this.count(roomId));
    return () => {
      watch.listeners.delete(listener);
      if (watch.listeners.size === 0 && this.watchers.get(roomId) === watch) {
        watch.stop();
        this.watchers.delete(roomId);
      }
    };
  }

  private changed(roomId: string): void {
    this.watchers.get(roomId)?.changed();
  }
}

/** Up to 10 events per second per room under churn, and the final value within 100 ms. */
export const COALESCE_MS = 100;

class RoomWatch {
  readonly listeners = new Set<(count: number) => void>();
  private lastEmitAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private lastSent: number;

  constructor(private readonly current: () => number) {
    this.lastSent = current();
  }

  changed(): void {
    if (this.timer) return;
    const wait = this.lastEmitAt + COALESCE_MS - Date.now();
    if (wait <= 0) this.emit();
    else this.timer = setTimeout(() => this.emit(), wait);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private emit(): void {
    this.timer = null;
    const count = this.current();
    if (count === this.lastSent) return;
    this.lastSent = count;
    this.lastEmitAt = Date.now();
    for (const listener of this.listeners) listener(count);
  }
}
