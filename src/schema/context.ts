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

/** What every resolver sees, whatever the transport. */
export interface Context {
  services: Services;
  /** The caller; resolved at most once per request (HTTP) or once per socket (WebSocket). */
  viewer(): Promise<Viewer>;
}
