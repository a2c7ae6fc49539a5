import type { IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import { WebSocket, type WebSocketServer } from 'ws';
import { requestIdOf } from './request-id.js';

/** How a connection ended. */
export interface SocketEnd {
  code: number;
  reason: string;
  /** `server`: this server closed it (its own code, whatever the peer answered, if it answered); `client`: the peer or the network did. */
  by: 'server' | 'client';
}

/** Told about each WebSocket's life; once per socket event, never per frame. */
export interface SocketWatcher {
  /** Wants each connection's id and start (`socket.record`): the upgrade echoes its X-Request-Id. */
  records?: boolean;
  /** Upgraded and open. */
  opened?(socket: ObservedSocket, request: IncomingMessage): void;
  /** This server started closing it with `code`; the peer may take long to read the close frame, or never. */
  closing?(socket: ObservedSocket, code: number): void;
  /** Gone: the close handshake finished, or the connection was cut. */
  closed?(socket: ObservedSocket, end: SocketEnd): void;
  /** The upgrade was answered with an HTTP `status` instead (a wrong path, an origin, a budget, a stopping server). */
  refused?(request: IncomingMessage, status: number): void;
}

/** What the access log keeps of a connection until it ends. */
export interface ConnectionRecord {
  /** The upgrade request's id (its X-Request-Id, or ours), echoed in the 101 response. */
  id: string;
  /** performance.now() at open. */
  openedAt: number;
  /** The client's address, as the access log names it. */
  ip: string;
}

/**
 * The `ws` socket with what the server's watchers need to know of it. `ws`
 * reports, on close, the code of the peer's close frame (or 1006), so a 4008
 * sent to a peer that never reads again would show as 1006 ten seconds later:
 * the code this server sent is kept here as it is sent. Four fields, and one
 * listener function shared by every socket: idle sockets are what a server
 * holds most of (the bench's memory per idle connection).
 */
export class ObservedSocket extends WebSocket {
  /** The close this server sent, or its terminate() (1006); null while it has not. */
  sentClose: { code: number; reason: string } | null = null;
  watchers: readonly SocketWatcher[] = NO_WATCHERS;
  /** Only when a watcher asks for it (the access log). */
  record: ConnectionRecord | null = null;
  /** The keep-alive sweep pinged, and no pong came back yet (transports/websocket/sweeps.ts). */
  awaitingPong = false;

  /**
   * The pong is heard here rather than by a listener: a socket's listeners are
   * kept in a hash table by event name, 188 bytes for up to three names and 284
   * from four (close, error and message are the three every socket needs).
   */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'pong') this.awaitingPong = false;
    return super.emit(event, ...args);
  }

  override close(code?: number, data?: string | Buffer): void {
    // ws calls close() itself to answer the peer's close frame: that close is the peer's.
    if (this.sentClose === null && this.readyState === WebSocket.OPEN && !(this as unknown as WsInternals)._closeFrameReceived) {
      this.sentClose = { code: code ?? 1005, reason: data === undefined ? '' : String(data) };
      for (const watcher of this.watchers) watcher.closing?.(this, this.sentClose.code);
    }
    super.close(code, data);
  }

  override terminate(): void {
    if (this.sentClose === null && this.readyState !== WebSocket.CLOSED && !(this as unknown as WsInternals)._closeFrameReceived) {
      this.sentClose = { code: 1006, reason: 'terminated' };
      for (const watcher of this.watchers) watcher.closing?.(this, 1006);
    }
    super.terminate();
  }
}

/** ws@8 (lib/websocket.js): set once the peer's close frame has been read. */
interface WsInternals {
  _closeFrameReceived?: boolean;
}

const NO_WATCHERS: readonly SocketWatcher[] = [];

/**
 * Hooks `watchers` onto a WebSocketServer made with ObservedSocket: the 101
 * response echoes the connection's id as X-Request-Id, and each watcher is told
 * of every open and end.
 */
export function watchSockets(wss: WebSocketServer, watchers: readonly SocketWatcher[]): void {
  if (watchers.length === 0) return;
  const records = watchers.some((watcher) => watcher.records);
  const ids = new WeakMap<IncomingMessage, string>();
  if (records) {
    wss.on('headers', (headers, request) => {
      const id = requestIdOf(request);
      ids.set(request, id);
      headers.push(`X-Request-Id: ${id}`);
    });
  }
  wss.on('connection', (socket, request) => {
    if (!(socket instanceof ObservedSocket)) return;
    if (records) socket.record = { id: ids.get(request) ?? '', openedAt: performance.now(), ip: '' };
    socket.watchers = watchers;
    // One listener function for every socket: `this` is the socket.
    socket.on('close', onClosed);
    for (const watcher of watchers) watcher.opened?.(socket, request);
  });
}

function onClosed(this: WebSocket, code: number, reason: Buffer): void {
  if (!(this instanceof ObservedSocket)) return;
  const end: SocketEnd = this.sentClose ? { ...this.sentClose, by: 'server' } : { code, reason: reason.toString(), by: 'client' };
  for (const watcher of this.watchers) watcher.closed?.(this, end);
}
