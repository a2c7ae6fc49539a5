import type { IdentityService, Viewer } from '../identity/identity.service.js';
import type { MessageService } from '../messages/message.service.js';
import type { RoomStreamService } from '../messages/room-stream.service.js';
import type { PresenceService } from '../presence/presence.service.js';
import type { RoomService } from '../rooms/room.service.js';
import type { StreamRegistry } from '../infrastructure/stream-registry.js';

/** The domain services, built once per server and shared by every request. */
export interface Services {
  identity: IdentityService;
  rooms: RoomService;
  messages: MessageService;
  streams: RoomStreamService;
  presence: PresenceService;
  /** Open subscription streams of the general path, ended when the server stops. */
  streamsOpen: StreamRegistry;
}

/** What every resolver sees, whatever the transport. */
export interface Context {
  services: Services;
  /** The caller; resolved at most once per request (HTTP) or once per socket (WebSocket). */
  viewer(): Promise<Viewer>;
}
