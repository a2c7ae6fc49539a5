import type { IncomingMessage, Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.js';
import { clientIpOf } from './budgets/client-ip.js';
import type { SocketWatcher } from './observed-socket.js';
import { requestIdOf } from './request-id.js';

export interface AccessLogOptions {
  logger: Logger;
  /** Proxies whose X-Forwarded-For entries name the client (TRUST_PROXY), as the budgets count them. */
  trustProxy: number;
}

/**
 * The access log: one JSON line (info) per HTTP request when its response ends
 * or its connection drops, one per WebSocket connection when it ends, and one
 * per upgrade refused with an HTTP status (no connection at all). Each
 * request gets an X-Request-Id (the one a proxy sent, if it looks like one),
 * echoed in the response. Never a header, a query string or a body: tokens
 * travel in all three.
 *
 * {"kind":"http","requestId":"…","method":"POST","path":"/graphql","status":200,"durationMs":2.4,"ip":"203.0.113.7","msg":"http request"}
 * {"kind":"websocket","requestId":"…","durationMs":61234.5,"code":1000,"reason":"","closedBy":"client","ip":"203.0.113.7","msg":"websocket closed"}
 * {"kind":"websocket","requestId":"…","path":"/graphql","status":429,"ip":"203.0.113.7","msg":"websocket refused"}
 */
export function attachAccessLog(httpServer: Server, options: AccessLogOptions): SocketWatcher {
  const { logger, trustProxy } = options;
  // First of the request listeners, so the header is set before any handler answers.
  httpServer.prependListener('request', (request, response) => {
    const started = performance.now();
    const requestId = requestIdOf(request);
    response.setHeader('x-request-id', requestId);
    response.once('close', () => {
      logger.info(
        {
          kind: 'http',
          requestId,
          method: request.method,
          path: pathOf(request),
          status: response.statusCode,
          durationMs: elapsed(started),
          ip: clientIpOf(request, trustProxy),
          // The client went away before the whole answer was written (or an SSE stream it left).
          ...(response.writableFinished ? {} : { aborted: true }),
        },
        'http request',
      );
    });
  });
  return {
    records: true,
    opened: (socket, request) => {
      if (socket.record) socket.record.ip = clientIpOf(request, trustProxy);
    },
    closed: (socket, end) => {
      const record = socket.record;
      if (!record) return;
      logger.info(
        { kind: 'websocket', requestId: record.id, durationMs: elapsed(record.openedAt), code: end.code, reason: end.reason, closedBy: end.by, ip: record.ip },
        'websocket closed',
      );
    },
    refused: (request, status) => {
      logger.info({ kind: 'websocket', requestId: requestIdOf(request), path: pathOf(request), status, ip: clientIpOf(request, trustProxy) }, 'websocket refused');
    },
  };
}

/** The path alone: a query string may carry a token (or anything), and a very long path is cut. */
function pathOf(request: IncomingMessage): string {
  const url = request.url ?? '/';
  const end = url.indexOf('?');
  return (end === -1 ? url : url.slice(0, end)).slice(0, 256);
}

function elapsed(since: number): number {
  return Math.round((performance.now() - since) * 10) / 10;
}
