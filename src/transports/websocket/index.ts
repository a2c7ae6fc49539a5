import type { Server as HttpServer } from 'node:http';
import { handleProtocols } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { WebSocketConfig } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { Services } from '../../schema/context.js';
import { ServerCloseCode } from '../close-codes.js';
import type { ErrorPolicy } from '../error-policy.js';
import type { GraphQLPipeline } from '../pipeline.js';
import { createProtocolServer } from './operations.js';
import { adaptSocket } from './socket-adapter.js';
import { answeredPing, startSweeps } from './sweeps.js';
import { createUpgradeHandler } from './upgrade.js';

export interface WebSocketOptions {
  httpServer: HttpServer;
  pipeline: GraphQLPipeline;
  services: Services;
  errorPolicy: ErrorPolicy;
  logger: Logger;
  allowedOrigins: string[] | null;
  config: WebSocketConfig;
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
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxPayloadBytes, handleProtocols });
  const server = createProtocolServer({ pipeline: options.pipeline, services: options.services, errorPolicy: options.errorPolicy, config });
  let accepting = true;

  wss.on('connection', (socket) => {
    adaptSocket(socket, server, logger);
    socket.on('pong', answeredPing);
  });
  const onUpgrade = createUpgradeHandler({ wss, logger, allowedOrigins: options.allowedOrigins, accepting: () => accepting });
  options.httpServer.on('upgrade', onUpgrade);
  const stopSweeps = startSweeps(wss.clients, config.keepAliveMs);

  return {
    /** Refuses new sockets and asks every open one to reconnect elsewhere. */
    async close(): Promise<void> {
      accepting = false;
      stopSweeps();
      options.httpServer.off('upgrade', onUpgrade);
      await Promise.all(
        [...wss.clients].map(
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
