import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { handleProtocols } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { WebSocketConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../schema/context.js';
import { ServerCloseCode } from '../close-codes.js';
import type { ErrorPolicy } from '../error-policy.js';
import { ObservedSocket, watchSockets, type SocketWatcher } from '../observed-socket.js';
import type { GraphQLPipeline } from '../pipeline.js';
import { clientIpOf } from '../budgets/client-ip.js';
import type { SocketBudgets } from '../budgets/socket-budgets.js';
import { createProtocolServer } from './operations.js';
import { adaptSocket, socketClosed } from './socket-adapter.js';
import { startSweeps } from './sweeps.js';
import { createUpgradeHandler } from './upgrade.js';

export interface WebSocketOptions {
  httpServer: HttpServer;
  pipeline: GraphQLPipeline;
  services: Services;
  errorPolicy: ErrorPolicy;
  logger: Logger;
  allowedOrigins: string[] | null;
  config: WebSocketConfig;
  /** Proxies in front whose X-Forwarded-For entries name the client (TRUST_PROXY). */
  trustProxy: number;
  /** Upgrades, open sockets and each socket's frames; null: RATE_LIMITS=off. */
  budgets: SocketBudgets | null;
  /** Told of every socket's open and end (metrics, access log). */
  watchers?: readonly SocketWatcher[];
}

/** A peer that does not answer the close handshake within this is cut off. */
const CLOSE_HANDSHAKE_MS = 2_000;

/**
 * graphql-ws (graphql-transport-ws) on the HTTP server's /graphql path: the
 * upgrade, a thin adapter from `ws` sockets onto graphql-ws's protocol core,
 * the shared sweeps, and shutdown.
 */
export function attachWebSocketTransport(options: WebSocketOptions) {
  const { logger, config } = options;
  // Open sockets are tracked here, not by ws (clientTracking), whose tracking is a closure and a
  // 'close' listener per socket: the transport's watcher below keeps the set with the one listener
  // every socket has anyway (observed-socket.ts).
  const clients = new Set<ObservedSocket>();
  const wss = new WebSocketServer({ noServer: true, clientTracking: false, maxPayload: config.maxPayloadBytes, handleProtocols, WebSocket: ObservedSocket });
  const server = createProtocolServer({ pipeline: options.pipeline, services: options.services, errorPolicy: options.errorPolicy, config, budgets: options.budgets });
  let accepting = true;

  // Last of the watchers: the metrics and the access log hear of an open before the socket's
  // first frame is handled, and of an end before its subscriptions are ended.
  const transport: SocketWatcher = {
    opened: (socket, request: IncomingMessage) => {
      clients.add(socket);
      const clientIp = clientIpOf(request, options.trustProxy);
      adaptSocket(socket, server, logger, options.budgets?.forSocket(clientIp) ?? { clientIp, frames: null, starts: null });
    },
    closed: (socket, end) => {
      clients.delete(socket);
      socketClosed(socket, end.code, end.reason);
    },
  };
  watchSockets(wss, [...(options.watchers ?? []), transport]);
  const onUpgrade = createUpgradeHandler({
    wss,
    logger,
    allowedOrigins: options.allowedOrigins,
    accepting: () => accepting,
    budgets: options.budgets,
    trustProxy: options.trustProxy,
    onRefused: (request, status) => {
      for (const watcher of options.watchers ?? []) watcher.refused?.(request, status);
    },
  });
  options.httpServer.on('upgrade', onUpgrade);
  const stopSweeps = startSweeps(clients, config.keepAliveMs, config.connectionInitTimeoutMs);

  return {
    /** Refuses new sockets and asks every open one to reconnect elsewhere. */
    async close(): Promise<void> {
      accepting = false;
      stopSweeps();
      options.httpServer.off('upgrade', onUpgrade);
      await Promise.all(
        [...clients].map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              socket.once('close', () => resolve());
              socket.close(ServerCloseCode.GoingAway, 'server shutting down');
              setTimeout(() => socket.terminate(), CLOSE_HANDSHAKE_MS).unref();
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
