import type { PubSub, Unsubscribe } from '../infrastructure/pubsub/pubsub.js';
import type { Logger } from '../logger.js';
import type { MessageRepository } from './message.repository.js';
import type { Message } from './message.js';

/**
 * One subscriber of a room's messages. The feed calls deliver() in seq order,
 * exactly once per message above lastSeq, and moves lastSeq itself.
 */
export interface FeedMember {
  lastSeq: number;
  /**
   * `shared` lives as long as one message's dispatch: members that render the
   * same way keep the rendered bytes there, so a message is rendered once per
   * shape, not once per subscriber.
   */
  deliver(message: Message, shared: Map<unknown, unknown>): void;
}

const READ_BATCH = 500;

/**
 * A room's live stream inside this process: one pub/sub subscription however
 * many members, events put in seq order, and any gap (a lost or late event, a
 * pub/sub outage) filled from the database before later messages go out.
 */
class RoomChannel {
  /** The seq of the newest message dispatched to live members; -1 until the channel is ready. */
  seq = -1;
  readonly live = new Set<FeedMember>();
  members = 0;
  closed = false;
  /** Events that arrived ahead of a gap, waiting for it to be filled. */
  private readonly early = new Map<number, Message>();
  private filling = false;
  private fillAgain = false;
  unsubscribe: Unsubscribe | null = null;

  constructor(
    readonly roomId: string,
    private readonly messages: MessageRepository,
    private readonly logger: Logger,
  ) {}

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
          const rows = await this.messages.listAfter(this.roomId, this.seq, READ_BATCH);
          for (const row of rows) if (row.seq === this.seq + 1) this.dispatch(row);
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
    for (const member of this.live) {
      if (message.seq <= member.lastSeq) continue;
      member.lastSeq = message.seq;
      try {
        member.deliver(message, shared);
      } catch (error) {
        this.logger.error({ err: error, roomId: this.roomId }, 'delivering a message to a subscriber failed');
      }
    }
  }
}

/** Every room's live stream in this process; members join with an optional resume point. */
export class MessageFeed {
  private readonly channels = new Map<string, Promise<RoomChannel>>();

  constructor(
    private readonly pubsub: PubSub,
    private readonly messages: MessageRepository,
    private readonly logger: Logger,
  ) {
    pubsub.onResync(() => {
      for (const pending of this.channels.values()) void pending.then((channel) => channel.fill());
    });
  }

  /**
   * Adds a member. With `afterSeq` it first gets every message after that seq
   * from the database, then joins the live stream with no gap and no duplicate;
   * without, it gets messages newer than the moment it joined. Resolves with leave().
   */
  async join(roomId: string, afterSeq: number | null, member: FeedMember): Promise<() => void> {
    let channel = await this.channelFor(roomId);
    // The last member may have left while we waited, closing the channel we were handed.
    while (channel.closed) channel = await this.channelFor(roomId);
    channel.members++;
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      channel.live.delete(member);
      if (--channel.members === 0) this.close(channel);
    };
    try {
      if (afterSeq === null) {
        member.lastSeq = channel.seq;
        channel.live.add(member);
      } else {
        await this.replay(channel, member, afterSeq, () => left);
      }
    } catch (error) {
      leave();
      throw error;
    }
    return leave;
  }

  /**
   * Replays from the database until the member has caught up with the live
   * stream, then makes it a live member. The last check and the join happen in
   * one tick (here, not after an `await` in the caller, where a dispatch could
   * slip in between), so nothing dispatched meanwhile can be missed; anything
   * replayed beyond it is skipped by lastSeq.
   */
  private async replay(channel: RoomChannel, member: FeedMember, afterSeq: number, hasLeft: () => boolean): Promise<void> {
    member.lastSeq = afterSeq;
    while (!hasLeft()) {
      if (member.lastSeq >= channel.seq) {
        channel.live.add(member);
        return;
      }
      const rows = await this.messages.listAfter(channel.roomId, member.lastSeq, READ_BATCH);
      // Everything the channel dispatched is committed, so this cannot happen; never spin on it.
      if (rows.length === 0) {
        if (!hasLeft()) channel.live.add(member);
        return;
      }
      for (const row of rows) {
        if (hasLeft()) return;
        if (row.seq <= member.lastSeq) continue;
        member.lastSeq = row.seq;
        member.deliver(row, new Map());
      }
    }
  }

  private channelFor(roomId: string): Promise<RoomChannel> {
    let pending = this.channels.get(roomId);
    if (!pending) {
      pending = this.open(roomId);
      this.channels.set(roomId, pending);
      const opening = pending;
      opening.catch(() => {
        if (this.channels.get(roomId) === opening) this.channels.delete(roomId);
      });
    }
    return pending;
  }

  private async open(roomId: string): Promise<RoomChannel> {
    const channel = new RoomChannel(roomId, this.messages, this.logger);
    // Subscribe first, then read the newest seq: whatever is committed after the read arrives as an event.
    channel.unsubscribe = await this.pubsub.subscribe('room.message', roomId, (message) => channel.receive(message));
    try {
      channel.start(await this.messages.latestSeq(roomId));
    } catch (error) {
      // Nobody will ever hold this channel, so nobody else would unsubscribe it.
      channel.closed = true;
      channel.unsubscribe().catch((e) => this.logger.warn({ err: e, roomId }, 'pub/sub unsubscribe failed'));
      throw error;
    }
    return channel;
  }

  private close(channel: RoomChannel): void {
    channel.closed = true;
    this.channels.delete(channel.roomId);
    channel.unsubscribe?.().catch((error) => this.logger.warn({ err: error, roomId: channel.roomId }, 'pub/sub unsubscribe failed'));
  }
}
