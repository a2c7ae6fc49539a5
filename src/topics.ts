import type { PubSub } from './infrastructure/pubsub/pubsub.js';
import type { MatchSignal } from './matching/matching.js';
import type { Message } from './messages/message.js';
import type { Report } from './moderation/report.js';
import type { Notice } from './notices/notice.js';
import type { PresenceShare } from './presence/presence.js';
import type { TypingChange } from './typing/typing.js';

/** Every topic the instances share, and its payload, in one place. */
export type Topics = {
  /** A committed message, published after its transaction; keyed by room id. */
  'room.message': Message;
  /** One instance's users in a room changed (see presence/); keyed by room id. */
  'room.presence': PresenceShare;
  /** A user started, renewed or stopped typing in a room (see typing/); keyed by room id. */
  'room.typing': TypingChange;
  /** A committed message of a DIRECT room, for one of its members other than the sender; keyed by that member's user id. */
  'user.directMessage': Message;
  /** A user was banned or unbanned: every instance forgets what it knew of the ban; one key, 'all'. */
  'moderation.ban': { userId: string };
  /** A room's slow mode changed: every instance forgets what it knew of it; one key, 'all'. */
  'moderation.slowMode': { roomId: string };
  /** A new report, for the operators' `reports` subscriptions; one key, 'all'. */
  'moderation.report': Report;
  /** Pairing two matchFound waiters (see matching/); keyed by the id of the instance the recipient waits on. */
  'match.signal': MatchSignal;
  /** An operators' notice; keyed 'everyone' (notices/notice.ts EVERYONE_KEY) or by the user id it is for. */
  notice: Notice;
};

/** The pub/sub every domain module publishes and subscribes through. */
export type ChatPubSub = PubSub<Topics>;
