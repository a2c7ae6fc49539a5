import type { User } from '../identity/user.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { RoomService } from '../rooms/room.service.js';
import type { MessageService } from './message.service.js';
import type { FeedMember, RoomFeeds } from './room-feed.js';

/** A checked messageAdded request: the room exists, the user may read it, `after` names one of its messages. */
export interface FeedRequest {
  roomId: string;
  afterSeq: number | null;
}

/**
 * Subscribing to a room's messages, the same on every transport and on both
 * the general and the fast path: check (and authorize) the request, count the
 * user as present, join the room's feed.
 */
export class FeedService {
  constructor(
    private readonly rooms: RoomService,
    private readonly messages: MessageService,
    private readonly feeds: RoomFeeds,
    private readonly presence: PresenceService,
  ) {}

  /** Throws NOT_FOUND, FORBIDDEN or BAD_USER_INPUT before anything is held. */
  async check(user: User, roomId: string, after: string | null | undefined): Promise<FeedRequest> {
    await this.rooms.requireAccess(user, roomId);
    return { roomId, afterSeq: after == null ? null : await this.messages.seqOf(roomId, after) };
  }

  /**
   * Starts delivery to `member` and counts the user present; leave() ends
   * both. Nothing is allocated for the member here (it carries its feed), so
   * idle fast-path subscribers cost what their own object costs.
   */
  async enter(user: User, request: FeedRequest, member: FeedMember): Promise<void> {
    this.presence.enter(request.roomId, user.id);
    try {
      await this.feeds.join(request.roomId, request.afterSeq, member);
    } catch (error) {
      this.presence.leave(request.roomId, user.id);
      throw error;
    }
  }

  /** Ends what enter() started, once; a member that is in no feed (gone already) is left alone. */
  leave(user: User, member: FeedMember): void {
    const feed = member.feed;
    if (feed === null) return;
    this.feeds.leave(member);
    this.presence.leave(feed.roomId, user.id);
  }

  /** enter(), and a function that calls leave(): for holders that keep closures (the general path's streams). */
  async join(user: User, request: FeedRequest, member: FeedMember): Promise<() => void> {
    await this.enter(user, request, member);
    return () => this.leave(user, member);
  }
}
