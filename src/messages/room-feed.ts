import type { Unsubscribe } from '../infrastructure/pubsub/pubsub.js';
import type { Logger } from '../logger.js';
import type { ChatPubSub } from '../topics.js';
import type { MessageRepository } from './message.repository.js';
import { UNOBSERVED, type MessageObserver } from './message-observer.js';
import type { Message } from './message.js';

/**
 * One subscriber of a room's messages. The feed calls deliver() in seq order,
 * exactly once per message above lastSeq, and moves lastSeq itself.
 */
export interface FeedMember {
  lastSeq: number;
  /**
   * The feed the member is in, from RoomFeeds.join() until leave(); null
   * before and after. Set by RoomFeeds only: the member carries its own
   * membership, so an idle subscriber costs its feed nothing but a set entry.
   */
  feed: RoomFeed | null;
  /**
   * `shared` lives as long as one message's dispatch: members that render the
   * same way keep the rendered bytes there, so a message is rendered once per
   * shape, not once per subscriber.
   */
  deliver(message: Message, shared: Map<unknown, unknown>): void;
}

/** The source a feed reads from when the live stream has a gap. */
export type FeedStore = Pick<MessageRepository, 'listAfter' | 'latestSeq'>;

const READ_BATCH = 500;

/**
 * A room's live feed inside this process: one pub/sub subscription however
 * many members, events put in seq order, and any gap (a lost or late event, a
 * pub/sub outage) filled from the database before later messages go out.
 */
export class RoomFeed {
  /** The seq of the newest message dispatched to live members; -1 until the feed has started. */
  seq = -1;
  private readonly live = new Set<FeedMember>();
  /** Members joined, live or still replaying; the feed closes when the last one leaves. */
  private members = 0;
  private isClosed = false;
  /** Events that arrived ahead of a gap, waiting for it to be filled. */
  private readonly early = new Map<number, Message>();
  private filling = false;
  private fillAgain = false;
  private unsubscribe: Unsubscribe | null = null;

  constructor(
    readonly roomId: string,
    private readonly store: FeedStore,
    private readonly logger: Logger,
    private readonly observer: MessageObserver = UNOBSERVED,
  ) {}

  get closed(): boolean {
    return this.isClosed;
  }

  /** Holds the pub/sub subscription that feeds this room, released by close(). */
  attach(unsubscribe: Unsubscribe): void {
    this.unsubscribe = unsubscribe;
  }

  /** Counts a member in; it receives nothing until goLive(). */
  addMember(): void {
    this.members++;
  }

  /** From now on the member receives every dispatched message above its lastSeq. */
  goLive(member: FeedMember): void {
    this.live.add(member);
  }

  /** Removes a member; true when it was the last one, so the feed should close. */
  removeMember(member: FeedMember): boolean {
    this.live.delete(member);
    return --this.members === 0;
  }

  /** Stops for good: no more members, the pub/sub subscription released. */
  close(): void {
    this.isClosed = true;
    this.unsubscribe?.().catch((error) => this.logger.warn({ err: error, roomId: this.roomId }, 'pub/sub unsubscribe failed'));
    this.unsubscribe = null;
  }

  receive(message: Message): void {
    if (this.seq < 0 || message.seq > this.seq + 1) {
      if (message.seq > this.seq) this.early.set(message.seq, message);
      if (this.seq >= 0) void this.fill();
      return;
    }
    if (message.seq <= this.seq) return;
    this.dispatch(message);
    this.drainEarly();
  }

  /** Reads from the database whatever came after `seq` and dispatches it in order. */
  async fill(): Promise<void> {
    if (this.seq < 0) return;
    if (this.filling) {
      // The running pass may have read before what this request is about was committed.
      this.fillAgain = true;
      return;
    }
    this.filling = true;
    try {
      do {
        this.fillAgain = false;
        for (;;) {
          const rows = await this.store.listAfter(this.roomId, this.seq, READ_BATCH);
          let refilled = 0;
          for (const row of rows) {
            if (row.seq !== this.seq + 1) continue;
            this.dispatch(row);
            refilled++;
          }
          if (refilled > 0) this.observer.refilled(refilled);
          this.drainEarly();
          if (rows.length < READ_BATCH && this.early.size === 0) break;
          if (rows.length === 0) break;
        }
      } while (this.fillAgain);
    } catch (error) {
      this.logger.error({ err: error, roomId: this.roomId }, 'filling a gap from the database failed; retrying on the next event');
    } finally {
      this.filling = false;
    }
  }

  /** Starts dispatching from the room's newest committed seq; earlier events were already in the database. */
  start(latestSeq: number): void {
    this.seq = latestSeq;
    for (const seq of this.early.keys()) if (seq <= latestSeq) this.early.delete(seq);
    this.drainEarly();
    if (this.early.size > 0) void this.fill();
  }

  private drainEarly(): void {
    let next: Message | undefined;
    while ((next = this.early.get(this.seq + 1)) !== undefined) {
      this.early.delete(next.seq);
      this.dispatch(next);
    }
    for (const seq of this.early.keys()) if (seq <= this.seq) this.early.delete(seq);
  }

  private dispatch(message: Message): void {
    this.seq = message.seq;
    const shared = new Map<unknown, unknown>();
    // Counted here, reported once per message: nothing per subscriber but the increment.
    let deliveries = 0;
    for (const member of this.live) {
      if (message.seq <= member.lastSeq) continue;
      member.lastSeq = message.seq;
      deliveries++;
      try {
        member.deliver(message, shared);
      } catch (error) {
        this.logger.error({ err: error, roomId: this.roomId }, 'delivering a message to a subscriber failed');
      }
    }
    this.observer.dispatched(message, deliveries);
  }
}

/** Every room's feed in this process; members join with an optional resume point. */
export class RoomFeeds {
  private readonly feeds = new Map<string, Promise<RoomFeed>>();

  constructor(
    private readonly pubsub: ChatPubSub,
    private readonly store: FeedStore,
    private readonly logger: Logger,
    private readonly observer: MessageObserver = UNOBSERVED,
  ) {
    pubsub.onResync((scope) => {
      for (const [roomId, pending] of this.feeds) if (!scope || scope('room.message', roomId)) void pending.then((feed) => feed.fill());
    });
  }

  /**
   * Adds a member. With `afterSeq` it first gets every message after that seq
   * from the database, then joins the live stream with no gap and no duplicate;
   * without, it gets messages newer than the moment it joined. leave() takes it
   * out again, also while it is still replaying.
   */
  async join(roomId: string, afterSeq: number | null, member: FeedMember): Promise<void> {
    let feed = await this.feedFor(roomId);
    // The last member may have left while we waited, closing the feed we were handed.
    while (feed.closed) feed = await this.feedFor(roomId);
    feed.addMember();
    member.feed = feed;
    try {
      if (afterSeq === null) {
        member.lastSeq = feed.seq;
        feed.goLive(member);
      } else {
        await this.replay(feed, member, afterSeq);
      }
    } catch (error) {
      this.leave(member);
      throw error;
    }
  }

  /** Takes a member out of its feed (none: nothing to do); the feed closes with its last member. */
  leave(member: FeedMember): void {
    const feed = member.feed;
    if (feed === null) return;
    member.feed = null;
    if (feed.removeMember(member)) this.close(feed);
  }

  /**
   * Replays from the database until the member has caught up with the live
   * stream, then makes it a live member. The last check and the join happen in
   * one tick (here, not after an `await` in the caller, where a dispatch could
   * slip in between), so nothing dispatched meanwhile can be missed; anything
   * replayed beyond it is skipped by lastSeq. A member that leaves meanwhile
   * (its feed no longer this one) stops it.
   */
  private async replay(feed: RoomFeed, member: FeedMember, afterSeq: number): Promise<void> {
    member.lastSeq = afterSeq;
    while (member.feed === feed) {
      if (member.lastSeq >= feed.seq) {
        feed.goLive(member);
        return;
      }
      const rows = await this.store.listAfter(feed.roomId, member.lastSeq, READ_BATCH);
      // Everything the feed dispatched is committed, so this cannot happen; never spin on it.
      if (rows.length === 0) {
        if (member.feed === feed) feed.goLive(member);
        return;
      }
      let replayed = 0;
      for (const row of rows) {
        if (member.feed !== feed) break;
        if (row.seq <= member.lastSeq) continue;
        member.lastSeq = row.seq;
        member.deliver(row, new Map());
        replayed++;
      }
      this.observer.replayed(replayed);
    }
  }

  private feedFor(roomId: string): Promise<RoomFeed> {
    let pending = this.feeds.get(roomId);
    if (!pending) {
      pending = this.open(roomId);
      this.feeds.set(roomId, pending);
      const opening = pending;
      opening.catch(() => {
        if (this.feeds.get(roomId) === opening) this.feeds.delete(roomId);
      });
    }
    return pending;
  }

  private async open(roomId: string): Promise<RoomFeed> {
    const feed = new RoomFeed(roomId, this.store, this.logger, this.observer);
    // Subscribe first, then read the newest seq: whatever is committed after the read arrives as an event.
    feed.attach(await this.pubsub.subscribe('room.message', roomId, (message) => feed.receive(message)));
    try {
      feed.start(await this.store.latestSeq(roomId));
    } catch (error) {
      // Nobody will ever hold this feed, so nobody else would release its subscription.
      feed.close();
      throw error;
    }
    return feed;
  }

  private close(feed: RoomFeed): void {
    // The room's only open feed is this one: a new one is opened only after it is gone.
    this.feeds.delete(feed.roomId);
    feed.close();
  }
}
