import type { User } from '../identity/user.js';
import type { TypingChange, Typist, TypingView } from './typing.js';

/** Lapsed typists are looked for at most this often: a lapse shows at most this much late. */
const LAPSE_CHECK_MS = 100;
/**
 * An update is handed to subscribers in slices, each in a turn of the event
 * loop of its own, so a message never waits long behind a large room's typing
 * update: a slice ends after this many users rendered (executed and serialised,
 * a few milliseconds' work) or after LISTED_PER_TURN users listed (written).
 */
const RENDERED_PER_TURN = 2_000;
/** About 4 MB of frames at ~80 bytes a user. */
const LISTED_PER_TURN = 50_000;

/**
 * Sends one subscriber its view; returns how many users it rendered itself
 * (executed and serialised): all it lists when it renders its own answer, 0
 * when it reused a rendering shared by the update's other subscribers.
 */
export type TypingListener = (view: TypingView) => number;

/** How much a room may send per second (on this instance, summed over its subscribers). */
export interface TypingBudget {
  /** Users rendered per second: the server's work. */
  renderedPerSecond: number;
  /** Users listed per second: the bytes on the wire, however cheaply rendered. */
  listedPerSecond: number;
}

/** A typist with the two hashes of their id that the set's fingerprint is summed from. */
interface Entry extends Typist {
  hashA: number;
  hashB: number;
  /** The typist's place in `everyone`, valid while that list is. */
  index: number;
}

/** One subscriber, and the fingerprint of the last set it was sent. */
interface Watcher {
  viewerId: string;
  /** null until it has been sent the current set (see welcome). */
  sentA: number | null;
  sentB: number;
}

/**
 * One room's typing subscribers on this instance, and who types there. Every
 * change (a setTyping anywhere, a lapse here) marks the room changed; the room
 * then sends at most one update per `coalesceMs`, so 1,000 people typing at
 * once cost each subscriber a few updates a second, not 1,000.
 *
 * An update costs in proportion to the users it lists: rendered (executed and
 * serialised, on the general path once per subscriber; on the WebSocket fast
 * path once per update) and written. So a room also keeps to a `budget`,
 * summed over its subscribers: after an update that rendered R users and
 * listed L, the next waits R / renderedPerSecond or L / listedPerSecond seconds
 * if that is longer than `coalesceMs`. Rooms of ordinary size never notice; one
 * where hundreds watch hundreds typing gets fewer, later updates instead of
 * taking the server from the message fan-out. And a large update is handed out
 * a slice at a time (RENDERED_PER_TURN, LISTED_PER_TURN), so it does not hold
 * the event loop either.
 *
 * Each subscriber sees the set without themselves. To tell whether that view
 * changed without keeping a copy per subscriber, the set keeps an order-free
 * fingerprint (sums of two 32-bit hashes of each member's id, so adding and
 * removing are O(1)); a subscriber's view is the set's fingerprint minus their
 * own hashes when they are in it. Nobody is sent the set they were sent last again.
 */
export class RoomTyping {
  readonly watchers = new Map<TypingListener, Watcher>();
  /** Settles once the set was read from the store (see TypingService.watch). */
  ready: Promise<void> = Promise.resolve();
  /** Releases the room's pub/sub channel; set once subscribed. */
  stopListening: (() => Promise<void>) | null = null;
  stopped = false;
  private readonly typists = new Map<string, Entry>();
  private sumA = 0;
  private sumB = 0;
  /** Until the store's set is in, changes heard wait here: the snapshot may be older than they are. */
  private pending: TypingChange[] | null = [];
  private emitTimer: NodeJS.Timeout | null = null;
  /** An update being handed out, slice by slice; null between updates. */
  private pass: {
    startedAt: number;
    listed: number;
    rendered: number;
    next: Iterator<[TypingListener, Watcher]>;
    turn: NodeJS.Immediate | null;
    dirty: boolean;
  } | null = null;
  /** No update before this (epoch ms): the coalescing window, or longer after a large update. */
  private nextEmitAt = 0;
  /**
   * The room's typists as one list, shared by every subscriber's view until the
   * set changes (each view is this list and the subscriber's place in it).
   */
  private everyone: User[] | null = null;
  private lapseTimer: NodeJS.Timeout | null = null;
  private lapseAt = Infinity;
  private lastLapseCheck = 0;

  constructor(
    private readonly coalesceMs: number,
    private readonly budget: TypingBudget,
  ) {}

  /** A change heard on the room's channel. */
  receive(change: TypingChange): void {
    if (this.pending) this.pending.push(change);
    else if (this.apply(change)) this.changed();
  }

  /** From now until `sync`, changes wait: for a re-read after the pub/sub link was lost. */
  resyncing(): void {
    this.pending ??= [];
  }

  /**
   * Takes the store's set, then the changes heard while it was read, in order:
   * each of those was written to the store before it was published, so
   * replaying it over the snapshot is right whether the snapshot saw it or not.
   */
  sync(snapshot: Typist[]): void {
    this.typists.clear();
    this.everyone = null;
    this.sumA = this.sumB = 0;
    const now = Date.now();
    for (const typist of snapshot) if (typist.expiresAt > now) this.put(typist.user, typist.expiresAt);
    const heard = this.pending ?? [];
    this.pending = null;
    for (const change of heard) this.apply(change);
    for (const entry of this.typists.values()) this.armLapse(entry.expiresAt);
    // After a re-read, subscribers already sent a set are sent the difference; new ones wait for welcome.
    if ([...this.watchers.values()].some((watcher) => watcher.sentA !== null)) this.changed();
  }

  add(listener: TypingListener, viewerId: string): void {
    this.watchers.set(listener, { viewerId, sentA: null, sentB: 0 });
  }

  /** Sends a new subscriber the set now: its first event, whatever the set is. */
  welcome(listener: TypingListener): void {
    const watcher = this.watchers.get(listener);
    if (!watcher) return;
    this.send(listener, watcher, true);
  }

  stop(): void {
    this.stopped = true;
    if (this.emitTimer) clearTimeout(this.emitTimer);
    if (this.pass?.turn) clearImmediate(this.pass.turn);
    this.pass = null;
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.emitTimer = this.lapseTimer = null;
    void this.stopListening?.().catch(() => {});
  }

  /** Applies one change; true when the set of typists changed (a renewed true does not change it). */
  private apply(change: TypingChange): boolean {
    const { user, expiresAt } = change;
    if (expiresAt === null || expiresAt <= Date.now()) return this.remove(user.id);
    const entry = this.typists.get(user.id);
    if (entry) {
      entry.expiresAt = expiresAt;
      return false;
    }
    this.put(user, expiresAt);
    this.armLapse(expiresAt);
    return true;
  }

  private put(user: User, expiresAt: number): void {
    const hashA = fnv1a(user.id, 0x811c9dc5);
    const hashB = fnv1a(user.id, 0x9747b28c);
    this.typists.set(user.id, { user, expiresAt, hashA, hashB, index: -1 });
    this.everyone = null;
    this.sumA = (this.sumA + hashA) >>> 0;
    this.sumB = (this.sumB + hashB) >>> 0;
  }

  private remove(userId: string): boolean {
    const entry = this.typists.get(userId);
    if (!entry) return false;
    this.typists.delete(userId);
    this.everyone = null;
    this.sumA = (this.sumA - entry.hashA) >>> 0;
    this.sumB = (this.sumB - entry.hashB) >>> 0;
    return true;
  }

  private changed(): void {
    if (this.pass) {
      // Sent when this update is out: the ones still to come in it already see the change.
      this.pass.dirty = true;
      return;
    }
    if (this.emitTimer || this.pending || this.stopped) return;
    // Rounded up: timers take whole milliseconds and must not fire before the window ends.
    const wait = Math.ceil(this.nextEmitAt - Date.now());
    if (wait <= 0) this.emit();
    else {
      this.emitTimer = setTimeout(() => this.emit(), wait);
      this.emitTimer.unref();
    }
  }

  private emit(): void {
    this.emitTimer = null;
    // The subscribers as they are now; one who arrives meanwhile is welcomed with the set of then.
    this.pass = { startedAt: Date.now(), listed: 0, rendered: 0, next: [...this.watchers][Symbol.iterator](), turn: null, dirty: false };
    this.handOut();
  }

  /** Sends the update to the next slice of subscribers; the rest in a later turn. */
  private handOut(): void {
    const pass = this.pass!;
    pass.turn = null;
    const [listedBefore, renderedBefore] = [pass.listed, pass.rendered];
    for (let step = pass.next.next(); !step.done; step = pass.next.next()) {
      const [listener, watcher] = step.value;
      // Gone since, or not welcomed yet (its first event is the set at welcome).
      if (this.watchers.get(listener) !== watcher || watcher.sentA === null) continue;
      const cost = this.send(listener, watcher, false);
      if (cost) {
        pass.listed += cost.listed;
        pass.rendered += cost.rendered;
      }
      if (pass.rendered - renderedBefore >= RENDERED_PER_TURN || pass.listed - listedBefore >= LISTED_PER_TURN) {
        pass.turn = setImmediate(() => this.handOut());
        return;
      }
    }
    this.pass = null;
    const { renderedPerSecond, listedPerSecond } = this.budget;
    this.nextEmitAt = pass.startedAt + Math.max(this.coalesceMs, (pass.rendered * 1000) / renderedPerSecond, (pass.listed * 1000) / listedPerSecond);
    if (pass.dirty) this.changed();
  }

  /** Sends `listener` its view unless it was sent that very set last; returns what that cost, null when nothing was sent. */
  private send(listener: TypingListener, watcher: Watcher, always: boolean): { listed: number; rendered: number } | null {
    const self = this.typists.get(watcher.viewerId);
    const viewA = self ? (this.sumA - self.hashA) >>> 0 : this.sumA;
    const viewB = self ? (this.sumB - self.hashB) >>> 0 : this.sumB;
    if (!always && viewA === watcher.sentA && viewB === watcher.sentB) return null;
    watcher.sentA = viewA;
    watcher.sentB = viewB;
    const everyone = this.list();
    const rendered = listener({ everyone, selfIndex: self ? self.index : -1 });
    return { listed: self ? everyone.length - 1 : everyone.length, rendered };
  }

  /** The shared list of typists, built again only after the set changed. */
  private list(): User[] {
    if (this.everyone) return this.everyone;
    const everyone: User[] = [];
    for (const entry of this.typists.values()) {
      entry.index = everyone.length;
      everyone.push(entry.user);
    }
    return (this.everyone = everyone);
  }

  /** Makes sure the lapse check runs by `at` (but not more often than LAPSE_CHECK_MS). */
  private armLapse(at: number): void {
    if (this.stopped || (this.lapseTimer && this.lapseAt <= at)) return;
    if (this.lapseTimer) clearTimeout(this.lapseTimer);
    this.lapseAt = Math.max(at, this.lastLapseCheck + LAPSE_CHECK_MS);
    this.lapseTimer = setTimeout(() => this.lapse(), Math.max(0, this.lapseAt - Date.now()));
    this.lapseTimer.unref();
  }

  private lapse(): void {
    this.lapseTimer = null;
    this.lapseAt = Infinity;
    const now = (this.lastLapseCheck = Date.now());
    let removed = false;
    let next = Infinity;
    for (const [userId, entry] of this.typists) {
      if (entry.expiresAt <= now) removed = this.remove(userId) || removed;
      else next = Math.min(next, entry.expiresAt);
    }
    if (next < Infinity) this.armLapse(next);
    if (removed) this.changed();
  }
}

/** 32-bit FNV-1a of `text` from `seed`: two seeds give two independent-enough hashes of a user id. */
function fnv1a(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
