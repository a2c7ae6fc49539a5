import type { User } from '../identity/identity.service.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { RoomService } from '../rooms/room.service.js';
import type { FeedMember, MessageFeed } from './message.feed.js';
import type { MessageService } from './message.service.js';

/** A checked messageAdded request: the room exists and `after` names one of its messages. */
export interface RoomStreamRequest {
  roomId: string;
  afterSeq: number | null;
}

/**
 * Opening a messageAdded subscription, the same on every transport: check the
 * request, count the user as present, join the room's feed.
 */
export class RoomStreamService {
  constructor(
    private readonly rooms: RoomService,
    private readonly messages: MessageService,
    private readonly feed: MessageFeed,
    private readonly presence: PresenceService,
  ) {}

  /** Throws NOT_FOUND or BAD_USER_INPUT before anything is held. */
  async check(roomId: string, after: string | null | undefined): Promise<RoomStreamRequest> {
    await this.rooms.get(roomId);
    return { roomId, afterSeq: after == null ? null : await this.messages.seqOf(roomId, after) };
  }

  /** Starts delivery to `member`; the returned function stops it and releases everything. */
  async open(user: User, request: RoomStreamRequest, member: FeedMember): Promise<() => void> {
    const leavePresence = this.presence.join(request.roomId, user.id);
    try {
      const leaveFeed = await this.feed.join(request.roomId, request.afterSeq, member);
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
