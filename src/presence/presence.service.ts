import { errorMessage, type Logger } from '../logger.js';
import type { PresenceCluster } from './presence.cluster.js';
import type { PresenceShare } from './presence.js';

/** Up to 10 count events per second per room under churn; the final value within 100 ms. */
export const COALESCE_MS = 100;

/**
 * Who is in a room right now: the distinct users holding a messageAdded
 * subscription to it, over every transport and every instance. One user with
 * two sockets, or on two instances, counts once.
 *
 * This instance keeps its own users exactly; the other instances' users come
 * from their announced shares (see PresenceCluster), which expire unless renewed
 * by a heartbeat, so an instance that dies stops counting within the TTL.
 */
export class PresenceService {
  /** roomId → userId → how many of that user's subscriptions are open here. */
  private readonly local = new Map<string, Map<string, number>>();
  /** Rooms with participantCount watchers here, and the other instances' shares of them. */
  private readonly watched = new Map<string, RoomWatch>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly announcing = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly cluster: PresenceCluster,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    // Renew this instance's shares well within their TTL; also expire the others' stale ones.
    this.heartbeat = setInterval(() => this.beat(), Math.max(Math.floor(ttlMs / 3), 100));
    this.heartbeat.unref();
  }

  /** Marks the user present in the room until the returned function is called (once). */
  join(roomId: string, userId: string): () => void {
    this.enter(roomId, userId);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leave(roomId, userId);
    };
  }

  /**
   * Counts one more of the user's subscriptions to the room; each enter() is
   * ended by exactly one leave(). For holders that keep the pair in fields of
   * their own (the fan-out's idle subscribers): join()'s closure is some
   * 150 bytes per subscription.
   */
  enter(roomId: string, userId: string): void {
    let users = this.local.get(roomId);
    if (!users) this.local.set(roomId, (users = new Map()));
    const before = users.get(userId) ?? 0;
    users.set(userId, before + 1);
    if (before === 0) this.localChanged(roomId);
  }

  /** Ends one enter() of the user to the room. */
  leave(roomId: string, userId: string): void {
    const users = this.local.get(roomId);
    const count = users?.get(userId);
    if (!users || count === undefined) return;
    if (count > 1) {
      users.set(userId, count - 1);
      return;
    }
    users.delete(userId);
    if (users.size === 0) this.local.delete(roomId);
    this.localChanged(roomId);
  }

  /** The room's count now, over every instance. */
  async count(roomId: string): Promise<number> {
    return this.union(roomId, await this.sharesOf(roomId));
  }

  /**
   * Up to `limit` of the users `count` counts, from the same state, in no fixed
   * order (this instance's own first).
   */
  async participantIds(roomId: string, limit: number): Promise<string[]> {
    const shares = await this.sharesOf(roomId);
    const ids = new Set<string>();
    for (const userId of this.local.get(roomId)?.keys() ?? []) {
      if (ids.size >= limit) return [...ids];
      ids.add(userId);
    }
    const now = Date.now();
    for (const share of shares) {
      if (share.expiresAt <= now) continue;
      for (const userId of share.userIds) {
        if (ids.size >= limit) return [...ids];
        ids.add(userId);
      }
    }
    return [...ids];
  }

  /** The other instances' shares of the room: kept up to date while watched, read otherwise. */
  private async sharesOf(roomId: string): Promise<Iterable<PresenceShare>> {
    const watch = this.watched.get(roomId);
    if (watch?.synced) return watch.shares.values();
    try {
      return await this.cluster.read(roomId);
    } catch (error) {
      // The cluster is unreachable: this instance's own users are still a true lower bound.
      this.logger.warn({ roomId, error: errorMessage(error) }, 'reading presence from the cluster failed; counting local users only');
      return [];
    }
  }

  /**
   * Calls `listener` with the count now, then with each new value, coalesced to at
   * most one call per COALESCE_MS per room; the final value always arrives.
   */
  async watch(roomId: string, listener: (count: number) => void): Promise<() => void> {
    let watch = this.watched.get(roomId);
    if (!watch) {
      watch = new RoomWatch((shares) => this.union(roomId, shares));
      this.watched.set(roomId, watch);
      const current = watch;
      current.ready = (async () => {
        current.stopWatching = await this.cluster.watch(roomId, (share) => current.receive(share));
        try {
          for (const share of await this.cluster.read(roomId)) current.receive(share, false);
        } catch (error) {
          // The cluster is unreachable: start from this instance's users; the other instances'
          // heartbeats fill in their shares once it is back.
          this.logger.warn({ roomId, error: errorMessage(error) }, 'reading presence from the cluster failed; counting local users until it answers');
        }
        current.synced = true;
      })();
    }
    const current = watch;
    current.listeners.set(listener, -1);
    try {
      await current.ready;
    } catch (error) {
      this.unwatch(roomId, current, listener);
      throw error;
    }
    current.welcome(listener);
    return () => this.unwatch(roomId, current, listener);
  }

  /** Withdraws this instance's shares: its users leave every room at once, not after the TTL. */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    // A room whose last user left just now has its (empty) announcement pending: withdraw it too,
    // or the other instances count those users until the share's TTL runs out.
    const rooms = new Set([...this.local.keys(), ...this.announcing.keys()]);
    for (const timer of this.announcing.values()) clearTimeout(timer);
    this.announcing.clear();
    for (const watch of this.watched.values()) watch.stop();
    await Promise.allSettled([...rooms].map((roomId) => this.cluster.announce(roomId, [], 0)));
    this.local.clear();
  }

  private unwatch(roomId: string, watch: RoomWatch, listener: (count: number) => void): void {
    watch.listeners.delete(listener);
    if (watch.listeners.size === 0 && this.watched.get(roomId) === watch) {
      this.watched.delete(roomId);
      watch.stop();
    }
  }

  private union(roomId: string, shares: Iterable<PresenceShare>): number {
    const users = this.local.get(roomId);
    const now = Date.now();
    let extra: Set<string> | null = null;
    for (const share of shares) {
      if (share.expiresAt <= now) continue;
      for (const userId of share.userIds) {
        if (users?.has(userId)) continue;
        (extra ??= new Set()).add(userId);
      }
    }
    return (users?.size ?? 0) + (extra?.size ?? 0);
  }

  private localChanged(roomId: string): void {
    this.watched.get(roomId)?.changed();
    // Announcements are coalesced too: a burst of joins is one write to the cluster.
    if (this.announcing.has(roomId)) return;
    this.announcing.set(
      roomId,
      setTimeout(() => {
        this.announcing.delete(roomId);
        this.announce(roomId);
      }, COALESCE_MS / 2),
    );
  }

  private announce(roomId: string): void {
    const users = [...(this.local.get(roomId)?.keys() ?? [])];
    this.cluster.announce(roomId, users, Date.now() + this.ttlMs).catch((error: unknown) => {
      this.logger.warn({ roomId, error: errorMessage(error) }, 'announcing presence failed; the next heartbeat retries');
    });
  }

  private beat(): void {
    for (const roomId of this.local.keys()) this.announce(roomId);
    for (const watch of this.watched.values()) watch.expireStale();
  }
}

/** One room's participantCount watchers on this instance. */
class RoomWatch {
  /** Each listener with the last count it was sent, so none is sent the same count twice or skipped. */
  readonly listeners = new Map<(count: number) => void, number>();
  /** The other instances' shares, by instance id. */
  readonly shares = new Map<string, PresenceShare>();
  ready: Promise<void> = Promise.resolve();
  synced = false;
  stopWatching: (() => Promise<void>) | null = null;
  private lastEmitAt = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly current: (shares: Iterable<PresenceShare>) => number) {}

  receive(share: PresenceShare, notify = true): void {
    if (share.userIds.length === 0 || share.expiresAt <= Date.now()) this.shares.delete(share.instanceId);
    else this.shares.set(share.instanceId, share);
    if (notify) this.changed();
  }

  expireStale(): void {
    const now = Date.now();
    let expired = false;
    for (const [instanceId, share] of this.shares) {
      if (share.expiresAt > now) continue;
      this.shares.delete(instanceId);
      expired = true;
    }
    if (expired) this.changed();
  }

  /** Sends a new listener the count now. */
  welcome(listener: (count: number) => void): void {
    const count = this.current(this.shares.values());
    if (this.listeners.get(listener) === count) return;
    this.listeners.set(listener, count);
    listener(count);
  }

  changed(): void {
    if (this.timer || !this.synced) return;
    const wait = this.lastEmitAt + COALESCE_MS - Date.now();
    if (wait <= 0) this.emit();
    else this.timer = setTimeout(() => this.emit(), wait);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    void this.stopWatching?.().catch(() => {});
  }

  private emit(): void {
    this.timer = null;
    const count = this.current(this.shares.values());
    this.lastEmitAt = Date.now();
    for (const [listener, last] of this.listeners) {
      if (last === count) continue;
      this.listeners.set(listener, count);
      listener(count);
    }
  }
}
