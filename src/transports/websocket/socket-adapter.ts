import type { WebSocket as ProtocolSocket } from 'graphql-ws';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../../logger.js';
import { closeFlooding } from '../budgets/socket-budgets.js';
import { CloseCode, ServerCloseCode } from '../close-codes.js';
import { frameRefusal } from '../limits/frames.js';
import type { createProtocolServer } from './operations.js';
import { openSession, sessionOf, SocketSession, type SessionBudget } from './socket-session.js';

type ProtocolServer = ReturnType<typeof createProtocolServer>;

/**
 * Maps one `ws` socket onto graphql-ws's protocol core: frames in, frames out,
 * close both ways. Per-socket state lives in its SocketSession.
 *
 * Nothing here is a closure per socket: the listeners and callbacks below are
 * shared by every socket (`this` is the socket, or its session), and what
 * differs per socket is in fields. At 19,000 sockets each closure per socket
 * is another megabyte, and more under tsx, whose keepNames gives every named
 * closure a property map of its own.
 */
export function adaptSocket(socket: WebSocket, server: ProtocolServer, logger: Logger, budget: SessionBudget): void {
  const session = openSession(new SocketSession(socket, handOver, flooded, budget));
  const adapted = new AdaptedSocket(socket, logger);
  adapters.set(socket, adapted);
  socket.on('error', onSocketError);
  // Protocol pings cost work too (ws answers each): they spend from the same frame budget.
  socket.on('ping', onSocketPing);
  adapted.closed = server.opened(adapted, session);
  socket.on('close', onSocketClose);
}

/** graphql-ws's view of one socket. */
class AdaptedSocket implements ProtocolSocket {
  /** graphql-ws's message handler, set by onMessage() inside server.opened(). */
  handler: ((data: string) => Promise<void>) | null = null;
  /** What server.opened() returned: call it once the socket has closed. */
  closed: ((code: number, reason: string) => Promise<void>) | null = null;

  constructor(
    readonly socket: WebSocket,
    readonly logger: Logger,
  ) {}

  get protocol(): string {
    return this.socket.protocol;
  }

  send(data: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(data);
  }

  close(code?: number, reason?: string): void {
    this.socket.close(code, reason);
  }

  onMessage(handler: (data: string) => Promise<void>): void {
    this.handler = handler;
    this.socket.on('message', onSocketMessage);
  }
}

const adapters = new WeakMap<WebSocket, AdaptedSocket>();

/** The session hands a message on to graphql-ws (SocketSession calls it as its method). */
function handOver(this: SocketSession, message: string): void {
  const adapted = adapters.get(this.socket);
  adapted?.handler?.(message).catch((error: unknown) => {
    adapted.logger.error({ err: error }, 'websocket message handling failed');
    adapted.socket.close(CloseCode.InternalServerError, 'Internal server error');
  });
}

/** The session found the socket flooding. */
function flooded(this: SocketSession, reason: string): void {
  closeFlooding(this.socket, ServerCloseCode.PolicyViolation, reason);
}

function onSocketMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const text = isBinary ? null : String(data);
  const refusal = frameRefusal(text);
  if (refusal) return this.close(CloseCode.BadRequest, refusal);
  sessionOf(this)?.receive(text!);
}

function onSocketPing(this: WebSocket): void {
  sessionOf(this)?.spend();
}

function onSocketError(this: WebSocket, error: Error): void {
  adapters.get(this)?.logger.warn({ err: error }, 'websocket error');
}

function onSocketClose(this: WebSocket, code: number, reason: Buffer): void {
  sessionOf(this)?.close();
  const closed = adapters.get(this)?.closed;
  if (closed) void closed(code, String(reason));
}
