import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { IdentityService } from './identity/identity.service.js';
import { TokenService } from './identity/token.js';
import { UserRepository } from './identity/user.repository.js';
import type { Db } from './infrastructure/db/connect.js';
import { deploymentId } from './infrastructure/db/migrate.js';
import { createEventBus, type EventBus } from './infrastructure/event-bus.js';
import { resolveJwtSecret } from './infrastructure/secret.js';
import { OpenStreams } from './infrastructure/streams/open-streams.js';
import type { Logger } from './logger.js';
import { FeedService } from './messages/feed.service.js';
import { MessageRepository } from './messages/message.repository.js';
import { MessageService } from './messages/message.service.js';
import { RoomFeeds } from './messages/room-feed.js';
import { SoloPresenceCluster } from './presence/presence.cluster.js';
import { RedisPresenceCluster } from './presence/presence.redis.js';
import { PresenceService } from './presence/presence.service.js';
import { RoomRepository } from './rooms/room.repository.js';
import { RoomService } from './rooms/room.service.js';
import type { Services } from './schema/context.js';
import type { Topics } from './topics.js';

/** The domain services and what they run on, with the order to close them in. */
export interface Wiring {
  services: Services;
  events: EventBus<Topics>;
  /** Releases what the services hold (presence shares, pub/sub links); the database is the caller's. */
  close(): Promise<void>;
}

/**
 * The composition root's wiring: infrastructure provides mechanisms (a database,
 * an event bus), and here each domain gets the ones it adapts. Nothing under
 * infrastructure/ knows a domain.
 */
export async function wireServices(config: Config, db: Db, logger: Logger): Promise<Wiring> {
  // The deployment id namespaces what instances share outside the database.
  const namespace = await deploymentId(db);
  const events = createEventBus<Topics>(config.redisUrl, namespace, logger);
  const presenceCluster = events.redis
    ? new RedisPresenceCluster(events.redis.command, events.pubsub, randomUUID(), config.presenceTtlSeconds, namespace)
    : new SoloPresenceCluster();

  const tokens = new TokenService(resolveJwtSecret(config, logger), config.tokenTtlSeconds);
  const messageRepository = new MessageRepository(db);
  const rooms = new RoomService(new RoomRepository(db));
  const messages = new MessageService(messageRepository, rooms, events.pubsub, logger);
  const presence = new PresenceService(presenceCluster, config.presenceTtlSeconds * 1000, logger);
  const roomFeeds = new RoomFeeds(events.pubsub, messageRepository, logger);
  const services: Services = {
    identity: new IdentityService(new UserRepository(db), tokens),
    rooms,
    messages,
    feeds: new FeedService(rooms, messages, roomFeeds, presence),
    presence,
    openStreams: new OpenStreams(),
  };
  return {
    services,
    events,
    async close() {
      await presence.close();
      await events.pubsub.close();
    },
  };
}
