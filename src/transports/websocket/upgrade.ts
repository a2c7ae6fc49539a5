import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../../logger.js';

export interface UpgradeOptions {
  wss: WebSocketServer;
  logger: Logger;
  /** Origins allowed to open a socket; null allows all. */
  allowedOrigins: string[] | null;
  /** False once the server stops: new sockets are refused with 503. */
  accepting: () => boolean;
}

/**
 * The HTTP upgrade to a WebSocket on /graphql, refused with a plain HTTP status
 * (no socket at all) for another path, a stopping server, or a browser page of
 * an origin not allowed. A request without Origin is not a browser's: the
 * origin check protects browsers' users, and the token still decides.
 */
export function createUpgradeHandler(options: UpgradeOptions) {
  const { wss, logger, allowedOrigins } = options;
  return (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/graphql') return refuse(socket, 404, 'Not Found');
    if (!options.accepting()) return refuse(socket, 503, 'Service Unavailable');
    const origin = request.headers.origin;
    if (allowedOrigins && origin !== undefined && !allowedOrigins.includes(origin)) {
      logger.info({ origin }, 'websocket upgrade refused: origin not allowed');
      return refuse(socket, 403, 'Forbidden');
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
