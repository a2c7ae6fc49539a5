import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { Config } from './config.js';
import type { Database } from './database.js';
import { connectDatabase } from './infrastructure/db/connect.js';
import { waitForDatabase } from './infrastructure/db/wait.js';
import { createMetrics, type Metrics } from './infrastructure/metrics/metrics.js';
import { migrateToLatest } from './infrastructure/db/migrate.js';
import { useBanGuard } from './moderation/ban-guard.js';
import { createLogger, type Logger } from './logger.js';
import { checkDataFolders } from './operations.config.js';
import type { Services } from './schema/context.js';
import { buildSchema } from './schema/index.js';
import { rateBudgetPlugins } from './transports/budgets/budget-plugin.js';
import { SocketBudgets } from './transports/budgets/socket-budgets.js';
import { createErrorPolicy } from './transports/error-policy.js';
import { useMessageFanout } from './transports/fanout/message-fanout.js';
import { useTypingFanout } from './transports/fanout/typing-fanout.js';
import { attachAccessLog } from './transports/access-log.js';
import { messageMetrics, socketMetrics, useSubscriptionMetrics, watchState } from './transports/metrics.js';
import { withMetricsEndpoint } from './transports/metrics-endpoint.js';
import { createGraphQLPipeline } from './transports/pipeline.js';
import { withWebApp } from './transports/web-app.js';
import { attachWebSocketTransport } from './transports/websocket/index.js';
import { wireServices } from './wiring.js';

export interface App {
  /** http://host:port/graphql once started: HTTP, SSE and WebSocket all live here. */
  readonly url: string;
  readonly port: number;
  readonly services: Services;
  /** Its Prometheus series (GET /metrics). */
  readonly metrics: Metrics;
  start(): Promise<void>;
  /** Stops accepting, closes sockets (1001), lets in-flight requests finish, closes storage. */
  stop(): Promise<void>;
}

/** How long start() waits for Redis before it returns anyway (not ready, but serving). */
const REDIS_START_WAIT_MS = 2_000;

/** In-flight HTTP requests (and SSE streams) get this long after stop() before being cut. */
const DRAIN_MS = 3_000;

/** The composition root: builds the server from a Config; nothing listens until start(). */
export async function buildApp(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<App> {
  checkDataFolders(config);
  const metrics = createMetrics();
  const db = connectDatabase<Database>(config.database);
  // PostgreSQL may still be starting beside us (compose, a restart of both): wait for it, boundedly.
  if (config.database.dialect === 'postgres') {
    await waitForDatabase(db, { waitMs: config.operations.databaseStartWaitMs, logger }).catch(async (error: unknown) => {
      await db.destroy();
      throw error;
    });
  }
  const applied = await migrateToLatest(db);
  if (applied.length > 0) logger.info({ applied }, 'database migrated');
  const wiring = await wireServices(config, db, logger, messageMetrics(metrics));
  const { services, events } = wiring;

  let stopping = false;
  const notReadyReason = async (): Promise<string | null> => {
    if (stopping) return 'shutting down';
    try {
      await sql`select 1`.execute(db);
    } catch {
      return 'database unreachable';
    }
    return events.problem();
  };

  const errorPolicy = createErrorPolicy(logger);
  const countRefusal = (rule: string) => metrics.rejections.inc({ rule });
  const { maxBufferedBytes } = config.websocket;
  const fanout = [
    useMessageFanout({ feeds: services.feeds, errorPolicy, maxBufferedBytes }),
    useTypingFanout({ typing: services.typing, rooms: services.rooms, errorPolicy, maxBufferedBytes }),
  ];
  const pipeline = createGraphQLPipeline({
    schema: buildSchema(),
    services,
    logger,
    allowedOrigins: config.allowedOrigins,
    errorPolicy,
    // Bans first: a banned user's write is refused before any other plugin acts on it.
    // Then the rate budgets (RATE_LIMITS): refused operations spend nothing more and store nothing.
    plugins: [useBanGuard({ bans: services.bans, errorPolicy }), ...rateBudgetPlugins(config, { store: wiring.budgetStore, errorPolicy, onRefused: countRefusal }), ...fanout, useSubscriptionMetrics(metrics)],
    trustProxy: config.trustProxy,
    limits: config.queryLimits,
    onLimitRefused: countRefusal,
    notReadyReason,
  });
  // The web chat at /, in front of the pipeline (GraphQL, GraphiQL, /health).
  // And /metrics in front of both.
  const httpServer: Server = createServer(withMetricsEndpoint(withWebApp(pipeline, { logger }), { metrics, token: config.operations.metricsToken, logger }));
  // ACCESS_LOG lines are info lines: at a quieter LOG_LEVEL (benchmarks) nothing is hooked at all.
  const accessLog = config.operations.accessLog && logger.isLevelEnabled('info') ? attachAccessLog(httpServer, { logger, trustProxy: config.trustProxy }) : null;
  watchState(metrics, {
    db,
    redisProblem: events.redis ? () => events.problem() : undefined,
    pendingWrites: () => services.messages.pendingWrites,
    onResync: (listener) => events.pubsub.onResync(listener),
  });
  // Before the handler, which may send its headers at once.
  httpServer.prependListener('request', (request: IncomingMessage, response: ServerResponse) => {
    // While stopping, a response ends its connection instead of keeping it for another request.
    if (stopping) response.setHeader('connection', 'close');
    // An SSE stream (Yoga marks it keep-alive) takes its connection with it when it ends, so a
    // stopping server is not held open by connections whose streams it has just completed.
    if (request.headers.accept?.includes('text/event-stream')) response.once('finish', () => request.socket.end());
  });
  const websocket = attachWebSocketTransport({
    httpServer,
    pipeline,
    services,
    errorPolicy,
    logger,
    allowedOrigins: config.allowedOrigins,
    config: config.websocket,
    trustProxy: config.trustProxy,
    budgets: config.rateLimits ? new SocketBudgets(config.rateLimits, wiring.budgetStore, countRefusal) : null,
    watchers: accessLog ? [socketMetrics(metrics), accessLog] : [socketMetrics(metrics)],
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
    metrics,
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
      await events.whenLive(REDIS_START_WAIT_MS);
      logger.info({ url: `http://${config.host}:${port}/graphql`, database: config.database.dialect, pubsub: config.redisClusterNodes ? 'redis-cluster' : config.redisUrl ? 'redis' : 'in-process' }, 'chat server listening');
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      await websocket.close();
      services.openStreams.endAll();
      // close() drops idle keep-alive connections; busy ones close after their response
      // (see the 'request' listener above), so in-flight requests are answered, not reset.
      const drained = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      const cut = setTimeout(() => httpServer.closeAllConnections(), DRAIN_MS);
      await drained;
      clearTimeout(cut);
      await wiring.close();
      await db.destroy();
      logger.info('chat server stopped');
    },
  };
}
