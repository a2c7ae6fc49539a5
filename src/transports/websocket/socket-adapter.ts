import type { WebSocket as ProtocolSocket } from 'graphql-ws';
import type { RawData, WebSocket } from 'ws';
import type { Logger } from '../../logger.js';
import { closeFlooding } from '../budgets/socket-budgets.js';
import { CloseCode, ServerCloseCode } from '../close-codes.js';
import { frameRefusal } from '../limits/frames.js';
import type { SubscribeDirectly } from './direct-subscriptions.js';
import type { createProtocolServer } from './operations.js';
import { openSession, sessionOf, SocketSession, type SessionBudget } from './socket-session.js';

type ProtocolServer = ReturnType<typeof createProtocolServer>;

/**
 * Maps one `ws` socket onto graphql-ws's protocol core: frames in, frames out,
 * close both ways. graphql-ws's view of the socket and the socket's session are
 * one object (AdaptedSocket), handed to it as both.
 *
 * Nothing here is a closure per socket: the listeners and callbacks below are
 * shared by every socket (`this` is the socket, or its session), and what
 * differs per socket is in fields. At 19,000 sockets each closure per socket
 * is another megabyte, and more under tsx, whose keepNames gives every named
 * closure a property map of its own.
 */
export function adaptSocket(socket: WebSocket, server: ProtocolServer, logger: Logger, budget: SessionBudget): void {
  const adapted = openSession(new AdaptedSocket(socket, logger, budget, server.subscribeDirectly));
  socket.on('error', onSocketError);
  // Protocol pings cost work too (ws answers each): they spend from the same frame budget.
  // Without one (RATE_LIMITS=off) there is nothing to spend, and no listener to keep.
  if (adapted.countsFrames) socket.on('ping', onSocketPing);
  adapted.closedBy = server.opened(adapted, adapted);
}

/**
 * The socket has closed (the transport's socket watcher calls this, index.ts: one
 * 'close' listener per socket, shared with the metrics and the access log).
 */
export function socketClosed(socket: WebSocket, code: number, reason: string): void {
  const adapted = sessionOf(socket) as AdaptedSocket | undefined;
  if (!adapted) return;
  adapted.end();
  // graphql-ws hands code and reason only to onDisconnect and onClose, which we do not set.
  if (adapted.closedBy) void adapted.closedBy(code, reason);
}

/** graphql-ws's view of one socket, and the socket's session. */
class AdaptedSocket extends SocketSession implements ProtocolSocket {
  /** graphql-ws's message handler, set by onMessage() inside server.opened(). */
  handler: ((data: string) => Promise<void>) | null = null;
  /** What server.opened() returned: call it once the socket has closed. */
  closedBy: ((code: number, reason: string) => Promise<void>) | null = null;

  constructor(
    socket: WebSocket,
    readonly logger: Logger,
    budget: SessionBudget,
    /** The server's direct path for fast-path subscriptions (shared by every socket). */
    private readonly subscribeDirectly: SubscribeDirectly,
  ) {
    super(socket, budget);
  }

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

  /**
   * The session hands a message on to graphql-ws, parsed: graphql-ws takes a
   * message parsed or not (its parseMessage), and keeps what it was given in
   * the suspended frame of every operation it runs for as long as that runs.
   * Given the text, every live subscription would keep its subscribe frame's
   * text (a couple of hundred bytes); given the parsed message, nothing more
   * than the object graphql-ws parses and keeps anyway. Text that is not a
   * JSON object goes as it is (a JSON string parsed here would be parsed
   * again there): graphql-ws closes 4400 on it as before.
   */
  protected handOver(message: string): void {
    let data: unknown = message;
    try {
      const parsed: unknown = JSON.parse(message);
      if (typeof parsed === 'object' && parsed !== null) data = parsed;
    } catch {
      // Not JSON: graphql-ws's own answer to it.
    }
    // A fast-path subscribe is started and held without graphql-ws running it (direct-subscriptions.ts).
    if (this.protocolContext && this.subscribeDirectly(this.protocolContext as Parameters<SubscribeDirectly>[0], data)) return;
    this.handler?.(data as string).catch((error: unknown) => this.handlingFailed(error));
  }

  handlingFailed(error: unknown): void {
    this.logger.error({ err: error }, 'websocket message handling failed');
    this.socket.close(CloseCode.InternalServerError, 'Internal server error');
  }

  protected flooded(reason: string): void {
    closeFlooding(this.socket, ServerCloseCode.PolicyViolation, reason);
  }
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
  (sessionOf(this) as AdaptedSocket | undefined)?.logger.warn({ err: error }, 'websocket error');
}
