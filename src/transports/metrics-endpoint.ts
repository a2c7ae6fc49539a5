import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { Logger } from '../logger.js';
import type { Metrics } from '../infrastructure/metrics/metrics.js';

export interface MetricsEndpointOptions {
  metrics: Metrics;
  /** The bearer a scraper must send; null: open. */
  token: string | null;
  logger: Logger;
}

export const METRICS_PATH = '/metrics';

/**
 * GET /metrics in Prometheus text, in front of everything else on the port.
 * With a token, a request without `Authorization: Bearer <token>` (or with
 * another) is 401; the comparison takes the same time whatever it is given.
 */
export function withMetricsEndpoint(next: RequestListener, options: MetricsEndpointOptions): RequestListener {
  const expected = options.token === null ? null : digest(options.token);
  return (request, response) => {
    const url = request.url ?? '/';
    const path = url.includes('?') ? url.slice(0, url.indexOf('?')) : url;
    if (path !== METRICS_PATH) return void next(request, response);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (expected !== null && !authorized(request.headers.authorization, expected)) {
      response.writeHead(401, { 'www-authenticate': 'Bearer realm="metrics"', 'content-type': 'text/plain; charset=utf-8' }).end('401 Unauthorized: send Authorization: Bearer <METRICS_TOKEN>\n');
      return;
    }
    options.metrics.render().then(
      (text) => {
        response.writeHead(200, { 'content-type': options.metrics.contentType, 'cache-control': 'no-store' });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, 'rendering /metrics failed');
        response.writeHead(500).end();
      },
    );
  };
}

/** Fixed-length digests, so timingSafeEqual compares equal lengths and says nothing about the token's. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function authorized(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer (\S+)$/i.exec(header?.trim() ?? '');
  return timingSafeEqual(digest(match?.[1] ?? ''), expected);
}
