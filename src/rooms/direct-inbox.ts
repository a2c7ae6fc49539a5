import { errorMessage, type Logger } from '../logger.js';
import type { Message } from '../messages/message.js';
import type { ChatPubSub } from '../topics.js';
import type { Room } from './room.js';

/**
 * directMessageAdded: each user's inbox of new messages in their DIRECT rooms.
 * A message is published once per recipient, on a channel of that user's own,
 * so a subscriber hears every direct room it is a member of, rooms opened
 * after it subscribed included, with one channel however many rooms, and
 * never its own messages. It is for badges: a message published while the
 * pub/sub is down is not re-read (resuming a room is messageAdded(after:)).
 */
export class DirectInbox {
  constructor(
    private readonly pubsub: ChatPubSub,
    private readonly logger: Logger,
  ) {}

  /** After `message` was committed in `room`: tells its members other than the sender. */
  announce(room: Room, message: Message): void {
    if (room.kind !== 'DIRECT') return;
    for (const member of room.members) {
      if (member.id === message.sender.id) continue;
      this.pubsub.publish('user.directMessage', member.id, message).catch((error) => {
        this.logger.warn({ roomId: room.id, seq: message.seq, error: errorMessage(error) }, 'publishing a direct message to an inbox failed');
      });
    }
  }

  /** Calls `listener` with each new direct message for `userId` until the returned function is called. */
  async watch(userId: string, listener: (message: Message) => void): Promise<() => void> {
    const unsubscribe = await this.pubsub.subscribe('user.directMessage', userId, (message) => {
      if (message.sender.id !== userId) listener(message);
    });
    return () => {
      unsubscribe().catch((error) => this.logger.warn({ error: errorMessage(error) }, 'pub/sub unsubscribe of an inbox failed'));
    };
  }
}
