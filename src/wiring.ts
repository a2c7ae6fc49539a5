import { randomUUID } from 'node:crypto';
import type { Config } from './config.js';
import { IdentityService } from './identity/identity.service.js';
import { TokenService } from './identity/token.js';
import { UserRepository } from './identity/user.repository.js';
import type { Db } from './database.js';
import { deploymentId } from './infrastructure/db/migrate.js';
import { createEventBus, type EventBus } from './infrastructure/event-bus.js';
import { createBudgetStore, type BudgetStore } from './infrastructure/rate-limit/budget-store.js';
import { resolveJwtSecret } from './infrastructure/secret.js';
import { OpenStreams } from './infrastructure/streams/open-streams.js';
import type { Logger } from './logger.js';
import { InProcessMatchQueue } from './matching/match-queue.memory.js';
import { RedisMatchQueue } from './matching/match-queue.redis.js';
import { MatchingService } from './matching/matching.service.js';
import { FeedService } from './messages/feed.service.js';
import { MessageRepository } from './messages/message.repository.js';
import { MessageService } from './messages/message.service.js';
import { UNOBSERVED, type MessageObserver } from './messages/message-observer.js';
import { RoomFeeds } from './messages/room-feed.js';
import { BanRepository } from './moderation/ban.repository.js';
import { BanService } from './moderation/ban.service.js';
import { Blocklist } from './moderation/blocklist.js';
import { OperatorAuth } from './moderation/operator-auth.js';
import { ReportRepository } from './moderation/report.repository.js';
import { ReportService } from './moderation/report.service.js';
import { ModerationSendPolicy } from './moderation/send-policy.js';
import { InProcessSlowModeGate, RedisSlowModeGate } from './moderation/slow-mode.gate.js';
import { SlowModeRepository } from './moderation/slow-mode.repository.js';
import { SlowModeService } from './moderation/slow-mode.service.js';
import { NoticeService } from './notices/notice.service.js';
import { SoloPresenceCluster } from './presence/presence.cluster.js';
import { RedisPresenceCluster } from './presence/presence.redis.js';
import { PresenceService } from './presence/presence.service.js';
import { DirectInbox } from './rooms/direct-inbox.js';
import { RoomRepository } from './rooms/room.repository.js';
import { RoomService } from './rooms/room.service.js';
import type { Services } from './schema/context.js';
import type { Topics } from './topics.js';
import { RedisTypingStore } from './typing/typing.redis.js';
import { TypingService } from './typing/typing.service.js';
import { MemoryTypingStore } from './typing/typing.store.js';
import { TYPING_LAPSE_MS } from './typing/typing.js';

/** The domain services and what they run on, with the order to close them in. */
export interface Wiring {
  services: Services;
  events: EventBus<Topics>;
  /** Where the transports' rate budgets count: Redis when shared, this process otherwise. */
  budgetStore: BudgetStore;
  /** Releases what the services hold (presence shares, pub/sub links); the database is the caller's. */
  close(): Promise<void>;
}

/**
 * The composition root's wiring: infrastructure provides mechanisms (a database,
 * an event bus), and here each domain gets the ones it adapts. Nothing under
 * infrastructure/ knows a domain.
 */
export async function wireServices(config: Config, db: Db, logger: Logger, observer: MessageObserver = UNOBSERVED): Promise<Wiring> {
  // The deployment id namespaces what instances share outside the database.
  const namespace = await deploymentId(db);
  const events = createEventBus<Topics>(config, namespace, logger);
  // Names this process to the other instances (its presence share, where its match waiters get their signals).
  const instanceId = randomUUID();
  const presenceCluster = events.redis
    ? new RedisPresenceCluster(events.redis.command, events.pubsub, instanceId, config.presenceTtlSeconds, namespace)
    : new SoloPresenceCluster();

  const tokens = new TokenService(resolveJwtSecret(config, logger), config.tokenTtlSeconds);
  const messageRepository = new MessageRepository(db);
  const rooms = new RoomService(new RoomRepository(db));
  const identity = new IdentityService(new UserRepository(db), tokens);
  // Moderation's state is read on every write path; each instance hears the others' changes.
  const bans = new BanService(new BanRepository(db), identity, events.pubsub, logger);
  const slowModeGate = events.redis ? new RedisSlowModeGate(events.redis.command, namespace, logger) : new InProcessSlowModeGate();
  const slowMode = new SlowModeService(new SlowModeRepository(db), rooms, slowModeGate, events.pubsub, logger);
  await Promise.all([bans.listen(), slowMode.listen()]);
  const sendPolicy = new ModerationSendPolicy(new Blocklist(config.blocklist ?? []), slowMode);
  const directInbox = new DirectInbox(events.pubsub, logger);
  const messages = new MessageService(messageRepository, rooms, events.pubsub, logger, directInbox, sendPolicy, observer);
  const presence = new PresenceService(presenceCluster, config.presenceTtlSeconds * 1000, logger);
  const roomFeeds = new RoomFeeds(events.pubsub, messageRepository, logger, observer);
  const typingStore = events.redis ? new RedisTypingStore(events.redis.command, namespace, TYPING_LAPSE_MS) : new MemoryTypingStore(TYPING_LAPSE_MS);
  const typing = new TypingService(typingStore, events.pubsub, logger);
  // A crashed instance's waiters stop counting after the same TTL as its users in presence.
  const matchQueue = events.redis ? new RedisMatchQueue(events.redis.command, namespace, instanceId, config.presenceTtlSeconds * 1000) : new InProcessMatchQueue();
  const matching = new MatchingService(matchQueue, events.pubsub, rooms, instanceId, logger);
  const services: Services = {
    identity,
    rooms,
    directInbox,
    messages,
    feeds: new FeedService(rooms, messages, roomFeeds, presence),
    presence,
    typing,
    matching,
    openStreams: new OpenStreams(),
    operators: new OperatorAuth(config.adminToken),
    bans,
    slowMode,
    reports: new ReportService(new ReportRepository(db), messages, rooms, events.pubsub, logger),
    notices: new NoticeService(identity, events.pubsub),
  };
  return {
    services,
    events,
    budgetStore: createBudgetStore({ redis: events.redis?.command ?? null, namespace, logger }),
    async close() {
      await presence.close();
      await matching.close();
      typing.close();
      await events.pubsub.close();
    },
  };
}
