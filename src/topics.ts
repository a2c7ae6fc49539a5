import type { PubSub } from './infrastructure/pubsub/pubsub.js';
import type { Message } from './messages/message.js';
import type { PresenceShare } from './presence/presence.js';

/** Every topic the instances share, and its payload, in one place. */
export type Topics = {
  /** A committed message, published after its transaction; keyed by room id. */
  'room.message': Message;
  /** One instance's users in a room changed (see presence/); keyed by room id. */
  'room.presence': PresenceShare;
};

/** The pub/sub every domain module publishes and subscribes through. */
export type ChatPubSub = PubSub<Topics>;
