import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Logger } from '../../logger.js';
import { clientIpOf } from '../budgets/client-ip.js';
import type { SocketBudgets } from '../budgets/socket-budgets.js';

export interface UpgradeOptions {
  wss: WebSocketServer;
  logger: Logger;
  /** Origins allowed to open a socket; null allows all. */
  allowedOrigins: string[] | null;
  /** False once the server stops: new sockets are refused with 503. */
  accepting: () => boolean;
  /** Upgrades and open sockets per address (HTTP 429 past them); null: RATE_LIMITS=off. */
  budgets: SocketBudgets | null;
  /** Proxies in front whose X-Forwarded-For entries name the client (TRUST_PROXY). */
  trustProxy: number;
  /** Told of each refused upgrade (the access log). */
  onRefused?: (request: IncomingMessage, status: number) => void;
}

/**
 * The HTTP upgrade to a WebSocket on /graphql, refused with a plain HTTP status
 * (no socket at all) for another path, a stopping server, a browser page of
 * an origin not allowed, or an address over its budgets (429, before the
 * upgrade). A request without Origin is not a browser's: the origin check
 * protects browsers' users, and the token still decides.
 */
export function createUpgradeHandler(options: UpgradeOptions) {
  const { wss, logger, allowedOrigins } = options;
  return (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const refuse = (status: number, text: string, headers = '') => {
      options.onRefused?.(request, status);
      answer(socket, status, text, headers);
    };
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== '/graphql') return refuse(404, 'Not Found');
    if (!options.accepting()) return refuse(503, 'Service Unavailable');
    const origin = request.headers.origin;
    if (allowedOrigins && origin !== undefined && !allowedOrigins.includes(origin)) {
      logger.info({ origin }, 'websocket upgrade refused: origin not allowed');
      return refuse(403, 'Forbidden');
    }
    const upgrade = () => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    if (!options.budgets) return upgrade();
    const ip = clientIpOf(request, options.trustProxy);
    options.budgets.admitUpgrade(ip, socket).then(
      (admission) => {
        if (admission.admitted) return options.accepting() ? upgrade() : refuse(503, 'Service Unavailable');
        // debug, not info: a flood of upgrades would be a flood of log lines.
        logger.debug({ ip, reason: admission.reason }, 'websocket upgrade refused: over budget');
        refuse(admission.status, 'Too Many Requests', `Retry-After: ${admission.retryAfterSeconds}\r\n`);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'websocket upgrade budget failed');
        refuse(500, 'Internal Server Error');
      },
    );
  };
}

function answer(socket: Duplex, status: number, text: string, headers: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
}
