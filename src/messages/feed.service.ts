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

  /** Starts delivery to `member`; the returned function stops it and releases everything. */
  async join(user: User, request: FeedRequest, member: FeedMember): Promise<() => void> {
    const leavePresence = this.presence.join(request.roomId, user.id);
    try {
      const leaveFeed = await this.feeds.join(request.roomId, request.afterSeq, member);
      return () => {
        leaveFeed();
        leavePresence();
      };
    } catch (error) {
      leavePresence();
      throw error;
    }
  }
}
