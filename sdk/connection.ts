import { createClient, type Client } from 'graphql-ws';
import type { DocumentNode, FormattedExecutionResult } from 'graphql';
import { postGraphQL, streamGraphQL, type GraphQLPayload, type HttpEndpoint } from './http.js';
import { LiveOperation, type LiveHost, type Transport } from './live.js';

/**
 * connecting: never connected yet. online: subscriptions are live.
 * reconnecting: the connection was lost; they resume by themselves when it is back.
 */
export type ConnectionState = 'connecting' | 'online' | 'reconnecting';
export type TransportKind = 'websocket' | 'sse';

/** The server's close code for a token it will not take (missing, invalid, expired). */
const TOKEN_REJECTED = 4403;
/** Sockets that fail to open, while HTTP answers, before the SDK takes WebSocket for blocked. */
const FAILED_OPENS_BEFORE_SSE = 2;
/**
 * After falling back to SSE, WebSocket is tried again this long later, and
 * then at doubling intervals up to the maximum: a blocked network (a captive
 * portal, a proxy) is often a passing one, and WebSocket is the cheaper link.
 */
const WEBSOCKET_RETRY_MS = { first: 30_000, max: 300_000 };

export interface ConnectionOptions {
  wsUrl: string;
  webSocketImpl?: unknown;
  transport: 'auto' | TransportKind;
  http: HttpEndpoint;
  /** The token to connect and subscribe with; waits for the identity. */
  bearer(): Promise<string | null>;
  /** The server refused `rejected`: make sure the next bearer() is one it takes. */
  recoverToken(rejected: string | null): Promise<void>;
  /** An HTTP query with the viewer's token (see LiveHost.query). */
  query(document: DocumentNode | string, variables: Record<string, unknown>, resumePoint?: boolean): Promise<FormattedExecutionResult>;
  keepAliveMs: number;
  pongTimeoutMs: number;
  retryDelayMs(attempt: number): number;
  /** After an SSE fallback, the wait before WebSocket is tried again (attempt 0, 1, …). */
  webSocketRetryMs?(attempt: number): number;
  onState(state: ConnectionState): void;
}

interface Socket {
  client: Client;
  generation: number;
  /** Set once connection_ack arrived. */
  transport: Transport | null;
  /** Asked to reconnect at once when it closes (a token change). */
  restart: boolean;
  /** Opened beside SSE to see whether WebSocket works again: nothing moves to it before it is acknowledged. */
  probe: boolean;
}

/**
 * One logical connection: a graphql-ws client per socket attempt (so no
 * subscription is ever re-sent with stale variables: each attempt subscribes
 * afresh), or SSE streams when WebSocket is blocked. It owns reconnecting;
 * the live operations resume themselves on every attach.
 */
export class Connection implements LiveHost {
  state: ConnectionState = 'connecting';
  kind: TransportKind;
  private readonly operations = new Set<LiveOperation>();
  private socket: Socket | null = null;
  private sse: Transport | null = null;
  private generation = 0;
  private attempt = 0;
  private everConnected = false;
  private failedOpens = 0;
  /** Fell back to SSE at least once: failing sockets may send it there again later. */
  private fellBack = false;
  private probeAttempt = 0;
  private probeTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly unlistenOnline: () => void;

  constructor(private readonly options: ConnectionOptions) {
    this.kind = options.transport === 'sse' ? 'sse' : 'websocket';
    const reconnectNow = () => this.reconnectNow();
    const target = globalThis as { addEventListener?: (type: string, listener: () => void) => void; removeEventListener?: (type: string, listener: () => void) => void };
    target.addEventListener?.('online', reconnectNow);
    this.unlistenOnline = () => target.removeEventListener?.('online', reconnectNow);
    this.connect();
  }

  add(operation: LiveOperation): void {
    this.operations.add(operation);
    const transport = this.transport();
    if (transport) void operation.attach(transport);
  }

  remove(operation: LiveOperation): void {
    this.operations.delete(operation);
    operation.end();
  }

  /**
   * One operation over the open socket (renewToken must go there to move the
   * socket's expiry); null when no socket is online.
   */
  requestOverSocket(payload: GraphQLPayload): Promise<FormattedExecutionResult> | null {
    const socket = this.socket;
    if (!socket?.transport) return null;
    return new Promise((resolve, reject) => {
      let result: FormattedExecutionResult | null = null;
      socket.client.subscribe(payload, {
        next: (value) => (result = value as FormattedExecutionResult),
        error: (error) => (Array.isArray(error) ? resolve({ errors: error }) : reject(error)),
        complete: () => (result ? resolve(result) : reject(new Error('the socket closed before answering'))),
      });
    });
  }

  /** Closes the socket after a token change, so the next one is opened with the new token. */
  restartSocket(): void {
    if (!this.socket) return;
    this.socket.restart = true;
    this.socket.client.terminate();
  }

  /** Skips the wait before the next attempt (the browser says it is online again). */
  reconnectNow(): void {
    if (this.closed || this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.attempt = 0;
    this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unlistenOnline();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    for (const operation of this.operations) operation.end();
    this.operations.clear();
    const socket = this.socket;
    this.socket = null;
    this.sse = null;
    if (socket) await Promise.resolve(socket.client.dispose()).catch(() => {});
  }

  // LiveHost

  lost(operation: LiveOperation): void {
    if (this.closed) return;
    if (this.kind === 'sse') {
      // One broken stream: the server or the network is away; wait for it for all of them.
      if (this.sse) this.dropped();
      return;
    }
    // The socket is up but this operation could not start (its resume point's HTTP request failed): retry it alone.
    setTimeout(() => {
      const transport = this.transport();
      if (transport && this.operations.has(operation)) void operation.attach(transport);
    }, this.options.retryDelayMs(1));
  }

  authRejected(operation: LiveOperation): void {
    void this.options.recoverToken(null).then(
      () => {
        // A socket authenticates once: a new token needs a new socket. SSE sends it with each stream.
        if (this.kind === 'websocket') this.restartSocket();
        else if (this.sse && this.operations.has(operation)) void operation.attach(this.sse);
      },
      () => this.lost(operation),
    );
  }

  ended(operation: LiveOperation): void {
    this.operations.delete(operation);
  }

  query(document: DocumentNode | string, variables: Record<string, unknown>, resumePoint?: boolean): Promise<FormattedExecutionResult> {
    return this.options.query(document, variables, resumePoint);
  }

  // Internals

  private transport(): Transport | null {
    return this.kind === 'sse' ? this.sse : (this.socket?.transport ?? null);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    this.options.onState(state);
  }

  private connect(probe = false): void {
    if (this.closed) return;
    if (this.kind === 'sse' && !probe) return void this.probeForSse();
    const generation = ++this.generation;
    let opened = false;
    let usedToken: string | null = null;
    let pongTimer: ReturnType<typeof setTimeout> | undefined;
    let client: Client;
    try {
      client = createClient({
        url: this.options.wsUrl,
        webSocketImpl: this.options.webSocketImpl,
        lazy: false,
        // Never graphql-ws's own retries: they re-send each subscribe as it first was.
        retryAttempts: 0,
        keepAlive: this.options.keepAliveMs,
        onNonLazyError: () => {},
        connectionParams: async () => {
          usedToken = await this.options.bearer();
          return usedToken ? { authorization: `Bearer ${usedToken}` } : {};
        },
        on: {
          opened: () => (opened = true),
          connected: () => this.socketConnected(generation),
          // A ping we sent that gets no pong in time: the network is gone without saying so.
          ping: (received) => {
            if (!received) pongTimer = setTimeout(() => client.terminate(), this.options.pongTimeoutMs);
          },
          pong: (received) => {
            if (received) clearTimeout(pongTimer);
          },
          closed: (event) => {
            clearTimeout(pongTimer);
            this.socketClosed(generation, event as { code?: number } | undefined, opened, usedToken);
          },
        },
      });
    } catch {
      // No WebSocket in this runtime.
      if (probe) return;
      if (this.options.transport === 'auto') {
        this.kind = 'sse';
        return void this.probeForSse();
      }
      throw new Error('no WebSocket implementation: pass webSocketImpl (in Node 20: `import WebSocket from "ws"`)');
    }
    this.socket = { client, generation, transport: null, restart: false, probe };
  }

  private socketConnected(generation: number): void {
    const socket = this.socket;
    if (!socket || socket.generation !== generation || this.closed) return;
    if (socket.probe) this.leaveSse(socket);
    this.attempt = 0;
    this.failedOpens = 0;
    this.everConnected = true;
    const client = socket.client;
    socket.transport = { subscribe: (payload, sink) => client.subscribe(payload, sink) };
    this.setState('online');
    for (const operation of this.operations) void operation.attach(socket.transport);
  }

  private socketClosed(generation: number, event: { code?: number } | undefined, opened: boolean, usedToken: string | null): void {
    const socket = this.socket;
    if (!socket || socket.generation !== generation || this.closed) return;
    this.socket = null;
    void Promise.resolve(socket.client.dispose()).catch(() => {});
    // WebSocket is still blocked: SSE carries on as it was.
    if (socket.probe) return this.scheduleWebSocketProbe();
    for (const operation of this.operations) operation.detach();
    this.setState(this.everConnected ? 'reconnecting' : 'connecting');

    if (socket.restart) return this.connect();
    if (event?.code === TOKEN_REJECTED) {
      void this.options.recoverToken(usedToken).then(
        () => (this.attempt++ < 3 ? this.connect() : this.scheduleReconnect()),
        () => this.scheduleReconnect(),
      );
      return;
    }
    if (!opened) this.failedOpens++;
    // Never before a first connection (or after coming back from SSE): a server that restarts must not send its clients to SSE.
    if (this.options.transport === 'auto' && (!this.everConnected || this.fellBack) && this.failedOpens >= FAILED_OPENS_BEFORE_SSE) {
      void this.fallBackToSseIfHttpWorks();
      return;
    }
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const delay = this.options.retryDelayMs(this.attempt++);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  /** Sockets never opened: if HTTP answers, a proxy or firewall is blocking WebSocket. */
  private async fallBackToSseIfHttpWorks(): Promise<void> {
    if (await this.httpAnswers()) {
      this.kind = 'sse';
      this.fellBack = true;
      this.probeAttempt = 0;
      this.sseOnline();
      return this.scheduleWebSocketProbe();
    }
    this.scheduleReconnect();
  }

  /** Tries WebSocket again, later, beside the SSE streams (only after a fallback: `transport: 'sse'` stays SSE). */
  private scheduleWebSocketProbe(): void {
    if (this.closed || !this.fellBack || this.probeTimer) return;
    const delay = this.options.webSocketRetryMs?.(this.probeAttempt) ?? Math.min(WEBSOCKET_RETRY_MS.first * 2 ** this.probeAttempt, WEBSOCKET_RETRY_MS.max);
    this.probeAttempt++;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      if (this.kind === 'sse' && !this.socket) this.connect(true);
    }, delay);
  }

  /**
   * The probe socket is acknowledged: every operation leaves its SSE stream and
   * resumes on the socket (after its last delivered message: no gap, no duplicate).
   */
  private leaveSse(socket: Socket): void {
    socket.probe = false;
    // An SSE reconnect may be waiting or under way: the socket replaces it.
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const operation of this.operations) operation.detach();
    this.sse = null;
    this.kind = 'websocket';
    this.failedOpens = 0;
  }

  private async probeForSse(): Promise<void> {
    if (await this.httpAnswers()) return this.sseOnline();
    this.scheduleReconnect();
  }

  private async httpAnswers(): Promise<boolean> {
    try {
      const result = await postGraphQL(this.options.http, { query: '{ __typename }' }, null);
      return !!result.data;
    } catch {
      return false;
    }
  }

  private sseOnline(): void {
    // Closed, or a probe socket took over while HTTP was being checked.
    if (this.closed || this.kind !== 'sse') return;
    this.attempt = 0;
    this.everConnected = true;
    const http = this.options.http;
    const bearer = () => this.options.bearer();
    const sse: Transport = {
      subscribe(payload, sink) {
        let stop: (() => void) | null = null;
        let cancelled = false;
        void bearer().then(
          (token) => {
            if (!cancelled) stop = streamGraphQL(http, payload, token, sink);
          },
          (error: unknown) => sink.error(error),
        );
        return () => {
          cancelled = true;
          stop?.();
        };
      },
    };
    this.sse = sse;
    this.setState('online');
    for (const operation of this.operations) void operation.attach(sse);
  }

  private dropped(): void {
    this.sse = null;
    for (const operation of this.operations) operation.detach();
    this.setState('reconnecting');
    this.scheduleReconnect();
  }
}
