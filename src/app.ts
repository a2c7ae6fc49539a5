import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Config } from './config.js';
import { IdentityService } from './identity/identity.service.js';
import { TokenService } from './identity/token.js';
import { UserRepository } from './identity/user.repository.js';
import { connectDatabase } from './infrastructure/db/connect.js';
import { deploymentId, migrateToLatest } from './infrastructure/db/migrate.js';
import { createCluster } from './infrastructure/cluster.js';
import { resolveJwtSecret } from './infrastructure/secret.js';
import { StreamRegistry } from './infrastructure/stream-registry.js';
import { createLogger, type Logger } from './logger.js';
import { MessageFeed } from './messages/message.feed.js';
import { MessageRepository } from './messages/message.repository.js';
import { MessageService } from './messages/message.service.js';
import { RoomStreamService } from './messages/room-stream.service.js';
import { PresenceService } from './presence/presence.service.js';
import { RoomRepository } from './rooms/room.repository.js';
import { RoomService } from './rooms/room.service.js';
import type { Services } from './schema/context.js';
import { buildSchema } from './schema/index.js';
import { createHttpTransport } from './transports/http.js';
import { attachWebSocketTransport } from './transports/websocket.js';

export interface App {
  /** http://host:port/graphql once started: HTTP, SSE and WebSocket all live here. */
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  start(): Promise<void>;
  /** Stops accepting, closes sockets (1001), lets in-flight requests finish, closes storage. */
  stop(): Promise<void>;
}

/** How long start() waits for Redis before it returns anyway (not ready, but serving). */
const REDIS_START_WAIT_MS = 2_000;

/** In-flight HTTP requests (and SSE streams) get this long after stop() before being cut. */
const DRAIN_MS = 3_000;

/** Wires the server from a Config; nothing listens until start(). */
export async function buildApp(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<App> {
  const db = connectDatabase(config.database);
  const applied = await migrateToLatest(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');

  const cluster = createCluster(config, await deploymentId(db), logger);
  const pubsub = cluster.pubsub;
  const tokens = new TokenService(resolveJwtSecret(config, logger), config.tokenTtlSeconds);
  const messageRepository = new MessageRepository(db);
  const rooms = new RoomService(new RoomRepository(db));
  const messages = new MessageService(messageRepository, rooms, pubsub, logger);
  const presence = new PresenceService(cluster.presence, config.presenceTtlSeconds * 1000, logger);
  const feed = new MessageFeed(pubsub, messageRepository, logger);
  const services: Services = {
    identity: new IdentityService(new UserRepository(db), tokens),
    rooms,
    messages,
    streams: new RoomStreamService(rooms, messages, feed, presence),
    presence,
    streamsOpen: new StreamRegistry(),
  };

  let stopping = false;
  const notReadyReason = async (): Promise<string | null> => {
    if (stopping) return 'shutting down';
    try {
      await sql`select 1`.execute(db);
    } catch {
      return 'database unreachable';
    }
    return cluster.problem();
  };

  const yoga = createHttpTransport({ schema: buildSchema(), services, logger, allowedOrigins: config.allowedOrigins, notReadyReason });
  const httpServer: Server = createServer(yoga);
  httpServer.on('request', (request: IncomingMessage, response: ServerResponse) => {
    // While stopping, a response ends its connection instead of keeping it for another request.
    if (stopping) response.setHeader('connection', 'close');
    // An SSE stream (Yoga marks it keep-alive) takes its connection with it when it ends, so a
    // stopping server is not held open by connections whose streams it has just completed.
    if (request.headers.accept?.includes('text/event-stream')) response.once('finish', () => request.socket.end());
  });
  const websocket = attachWebSocketTransport({
    httpServer,
    yoga,
    services,
    logger,
    allowedOrigins: config.allowedOrigins,
    config: config.websocket,
  });
  if (!config.allowedOrigins) logger.warn('ALLOWED_ORIGINS is not set: WebSocket and CORS requests are accepted from any origin');

  let port = config.port;
  return {
    get url() {
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      return `http://${host.includes(':') ? `[${host}]` : host}:${port}/graphql`;
    },
    get port() {
      return port;
    },
    services,
    async start() {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
      port = (httpServer.address() as AddressInfo).port;
      // Usually Redis answers within milliseconds; when it is away the server serves anyway
      // (history, sending) and /health says why it is not ready.
      await cluster.whenLive(REDIS_START_WAIT_MS);
      logger.info({ url: `http://${config.host}:${port}/graphql`, database: config.database.dialect, pubsub: config.redisUrl ? 'redis' : 'in-process' }, 'chat server listening');
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      await websocket.close();
      services.streamsOpen.endAll();
      // close() drops idle keep-alive connections; busy ones close after their response
      // (see the 'request' listener below), so in-flight requests are answered, not reset.
      const drained = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      const cut = setTimeout(() => httpServer.closeAllConnections(), DRAIN_MS);
      await drained;
      clearTimeout(cut);
      await presence.close();
      await pubsub.close();
      await db.destroy();
      logger.info('chat server stopped');
    },
  };
}
