import type { IdentityService } from '../identity/identity.service.js';
import type { Viewer } from '../identity/viewer.js';
import type { OpenStreams } from '../infrastructure/streams/open-streams.js';
import type { FeedService } from '../messages/feed.service.js';
import type { MessageService } from '../messages/message.service.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { RoomService } from '../rooms/room.service.js';

/** The domain services, built once per server (src/wiring.ts) and shared by every request. */
export interface Services {
  identity: IdentityService;
  rooms: RoomService;
  messages: MessageService;
  /** Subscribing to a room's messages (messageAdded), on every transport and path. */
  feeds: FeedService;
  presence: PresenceService;
  /** Open subscription streams of the general path, ended when the server stops. */
  openStreams: OpenStreams;
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
  /** The connection the operation came over, when it lasts beyond it (graphql-ws); absent over HTTP and SSE. */
  connection?: LastingConnection;
}
