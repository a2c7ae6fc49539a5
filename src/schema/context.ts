import type { IdentityService } from '../identity/identity.service.js';
import type { Viewer } from '../identity/viewer.js';
import type { OpenStreams } from '../infrastructure/streams/open-streams.js';
import type { MatchingService } from '../matching/matching.service.js';
import type { FeedService } from '../messages/feed.service.js';
import type { MessageService } from '../messages/message.service.js';
import type { BanService } from '../moderation/ban.service.js';
import type { OperatorAuth } from '../moderation/operator-auth.js';
import type { ReportService } from '../moderation/report.service.js';
import type { SlowModeService } from '../moderation/slow-mode.service.js';
import type { NoticeService } from '../notices/notice.service.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { DirectInbox } from '../rooms/direct-inbox.js';
import type { RoomService } from '../rooms/room.service.js';
import type { TypingService } from '../typing/typing.service.js';

/** The domain services, built once per server (src/wiring.ts) and shared by every request. */
export interface Services {
  identity: IdentityService;
  rooms: RoomService;
  /** Each user's new direct messages (directMessageAdded), across instances. */
  directInbox: DirectInbox;
  messages: MessageService;
  /** Subscribing to a room's messages (messageAdded), on every transport and path. */
  feeds: FeedService;
  presence: PresenceService;
  /** Random 1:1 matching (matchFound), across instances. */
  matching: MatchingService;
  /** Who is typing where (setTyping, the typing subscription); ephemeral. */
  typing: TypingService;
  /** Open subscription streams of the general path, ended when the server stops. */
  openStreams: OpenStreams;
  /** Whether a bearer is the operators' (ADMIN_TOKEN). */
  operators: OperatorAuth;
  bans: BanService;
  slowMode: SlowModeService;
  reports: ReportService;
  notices: NoticeService;
}

/** A connection that outlives one operation (graphql-ws), as resolvers may act on it. */
export interface LastingConnection {
  /** From now on the connection acts as `viewer` and closes when its token expires. */
  adoptViewer(viewer: Extract<Viewer, { problem: null }>): void;
}

/** What every resolver sees, whatever the transport. */
export interface Context {
  services: Services;
  /** The caller; resolved at most once per request (HTTP) or once per socket (WebSocket). */
  viewer(): Promise<Viewer>;
  /** Whether the caller came with the operators' admin token (not a user: viewer() has none then). */
  isOperator(): boolean;
  /** The client's address (transports/budgets/client-ip.ts): the socket's, or X-Forwarded-For's behind TRUST_PROXY. */
  clientIp: string;
  /** The connection the operation came over, when it lasts beyond it (graphql-ws); absent over HTTP and SSE. */
  connection?: LastingConnection;
}
