import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.js';

/** Where `npm install` (the prepare script) builds the web chat: web/dist. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Paths that are always the GraphQL pipeline's, whatever the build holds. */
const PIPELINE_PATHS = new Set(['/graphql', '/health', '/livez']);

export interface WebAppOptions {
  logger: Logger;
  /** The built web chat. @default web/dist */
  root?: string;
}

/**
 * The web chat, served at `/` from its build (Vite's output: index.html and
 * hashed files under /assets/), in front of the GraphQL pipeline: any request
 * that is not a GET or HEAD of one of its files goes on to `next`.
 */
export function withWebApp(next: RequestListener, options: WebAppOptions): RequestListener {
  const root = resolve(options.root ?? DEFAULT_WEB_ROOT);
  if (!existsSync(join(root, 'index.html'))) {
    options.logger.warn({ root }, 'the web chat is not built (npm run build:web): / answers 503 until it is');
  }

  return (request, response) => {
    const path = pathOf(request);
    if (path === null || PIPELINE_PATHS.has(path) || (request.method !== 'GET' && request.method !== 'HEAD')) {
      return void next(request, response);
    }
    const file = path === '/' ? join(root, 'index.html') : join(root, path);
    if (!file.startsWith(root + sep)) return void next(request, response);
    stat(file).then(
      (found) => (found.isFile() ? sendFile(request, response, file, found.size, path) : next(request, response)),
      () => (path === '/' ? notBuilt(response) : next(request, response)),
    );
  };
}

function pathOf(request: IncomingMessage): string | null {
  try {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    return path.includes('\0') ? null : path;
  } catch {
    return null;
  }
}

function securityHeaders(response: ServerResponse, host: string | undefined): void {
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'no-referrer');
  // Everything comes from this server: no CDN, no inline script. 'self' covers same-origin
  // WebSockets in current browsers; the explicit ws:/wss: origin covers older Safari.
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  response.setHeader(
    'content-security-policy',
    `default-src 'self'; connect-src 'self'${sockets}; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  );
}

function sendFile(request: IncomingMessage, response: ServerResponse, file: string, size: number, path: string): void {
  response.statusCode = 200;
  response.setHeader('content-type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
  response.setHeader('content-length', size);
  // Vite names what it builds under /assets/ by content hash: those never change.
  response.setHeader('cache-control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
  securityHeaders(response, request.headers.host);
  if (request.method === 'HEAD') return void response.end();
  createReadStream(file)
    .on('error', () => response.destroy())
    .pipe(response);
}

function notBuilt(response: ServerResponse): void {
  response.statusCode = 503;
  response.setHeader('content-type', 'text/html; charset=utf-8');
  response.setHeader('retry-after', '10');
  response.end('<!doctype html><title>Chat</title><p>The web chat is not built yet: run <code>npm run build:web</code> (<code>npm install</code> does it). The API is at <a href="/graphql">/graphql</a>.</p>');
}
