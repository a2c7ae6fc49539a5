import jwt from 'jsonwebtoken';
import type { Client } from 'graphql-ws';
import WebSocket, { type ClientOptions } from 'ws';
import { sendMessage, type SentMessage, type TestUser } from './chat.js';
import { gqlOk } from './graphql.js';
import { TEST_SECRET } from './server.js';
import { EventQueue } from './events.js';
import { deferred, within } from './wait.js';

/** The subprotocol graphql-ws speaks; a socket without it is refused by the server. */
export const GRAPHQL_WS = 'graphql-transport-ws';

export interface Closed {
  code: number;
  reason: string;
}

/**
 * A raw graphql-transport-ws socket for tests that need the protocol in their
 * own hands (no init, a paused reader, a peer that does not answer pings).
 * Every frame and the close are recorded from the start, so nothing is missed.
 */
export interface RawSocket {
  socket: WebSocket;
  opened: Promise<void>;
  closed: Promise<Closed>;
  send(message: Record<string, unknown>): void;
  /** The next protocol message of `type` (earlier ones of other types are skipped). */
  next(type: string, ms?: number): Promise<Record<string, any>>;
}

export function rawSocket(wsUrl: string, options: ClientOptions = {}): RawSocket {
  const socket = new WebSocket(wsUrl, GRAPHQL_WS, options);
  const inbox: Record<string, any>[] = [];
  const waiters: (() => void)[] = [];
  const opened = deferred();
  const closed = deferred<Closed>();
  opened.promise.catch(() => {});
  socket.on('open', () => opened.resolve());
  socket.on('unexpected-response', (_request, response) => opened.reject(new Error(`upgrade refused with HTTP ${response.statusCode}`)));
  socket.on('error', (error) => opened.reject(error));
  socket.on('message', (data) => {
    inbox.push(JSON.parse(String(data)));
    waiters.splice(0).forEach((wake) => wake());
  });
  socket.on('close', (code, reason) => {
    closed.resolve({ code, reason: reason.toString() });
    waiters.splice(0).forEach((wake) => wake());
  });
  let read = 0;
  return {
    socket,
    opened: opened.promise,
    closed: closed.promise,
    send: (message) => socket.send(JSON.stringify(message)),
    next: (type, ms = 5_000) =>
      within(
        (async () => {
          for (;;) {
            while (read < inbox.length) {
              const message = inbox[read++]!;
              if (message.type === type) return message;
            }
            if (socket.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for a ${type} message`);
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
        })(),
        ms,
        `a ${type} message`,
      ),
  };
}

/** A raw socket that has sent connection_init with `payload` and got connection_ack. */
export async function rawConnection(wsUrl: string, payload: Record<string, unknown>, options: ClientOptions = {}): Promise<RawSocket> {
  const raw = rawSocket(wsUrl, options);
  await within(raw.opened, 5_000, 'the socket to open');
  raw.send({ type: 'connection_init', payload });
  await raw.next('connection_ack');
  return raw;
}

/** The HTTP status the server refused a WebSocket upgrade with; fails if the upgrade succeeded. */
export function upgradeRefusal(wsUrl: string, options: ClientOptions = {}): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const socket = new WebSocket(wsUrl, GRAPHQL_WS, options);
      socket.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('open', () => {
        reject(new Error('the upgrade was accepted'));
        socket.terminate();
      });
      socket.on('error', () => {});
    }),
    5_000,
    'the upgrade answer',
  );
}

/** Resolves with the code and reason the server closed a graphql-ws client's socket with. */
export function closeOfClient(client: Client, ms = 5_000): Promise<Closed> {
  return within(
    new Promise<Closed>((resolve) => {
      const off = client.on('closed', (event) => {
        off();
        const { code, reason } = event as { code: number; reason: string };
        resolve({ code, reason: String(reason) });
      });
    }),
    ms,
    'the client socket to close',
  );
}

/** A token signed like the server's own, with a chosen expiry: for expiry tests. */
export function signToken(user: TestUser['user'], expiresInSeconds: number, secret = TEST_SECRET): { token: string; exp: number } {
  const exp = Math.floor(Date.now() / 1000) + expiresInSeconds;
  return { token: jwt.sign({ nickname: user.nickname, tag: user.tag, exp }, secret, { subject: user.id }), exp };
}

export interface SseSubscription<T> {
  /** Settles when the server answered with an event stream (or refused). */
  ready: Promise<void>;
  next(ms?: number): Promise<T>;
  take(count: number, ms?: number): Promise<T[]>;
  received: T[];
  /** Aborts the request, as a closing browser tab would. */
  close(): void;
}

/**
 * A subscription over Server-Sent Events, as a browser's fetch would make it:
 * POST with accept: text/event-stream, then `event: next` / `data:` blocks.
 */
export function sseSubscribe<T = any>(url: string, query: string, variables: Record<string, unknown>, token: string): SseSubscription<T> {
  const abort = new AbortController();
  const events = new EventQueue<T>('an SSE event');
  const ready = deferred();
  ready.promise.catch(() => {});

  void (async () => {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
        signal: abort.signal,
      });
      if (!response.ok || !response.headers.get('content-type')?.startsWith('text/event-stream')) {
        throw new Error(`SSE refused: HTTP ${response.status} ${await response.text()}`);
      }
      ready.resolve();
      const decoder = new TextDecoder();
      let buffer = '';
      const reader = response.body!.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          const event = lines.find((l) => l.startsWith('event:'))?.slice(6).trim();
          const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (event !== 'next') continue;
          const result = JSON.parse(data) as { data?: T; errors?: unknown };
          if (result.errors) events.fail(result.errors);
          else events.push(result.data as T);
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) events.fail(error);
      ready.reject(error);
    } finally {
      events.fail(new Error('the event stream ended'));
    }
  })();

  return {
    ready: within(ready.promise, 5_000, 'the event stream to open'),
    next: (ms) => events.next(ms),
    take: (count, ms) => events.take(count, ms),
    received: events.received,
    close: () => abort.abort(),
  };
}


/** Room.participantCount over HTTP, as a room list would show it. */
export async function participantCountOf(url: string, roomId: string): Promise<number> {
  const data = await gqlOk<{ room: { participantCount: number } }>(url, 'query($id: ID!) { room(id: $id) { participantCount } }', { id: roomId });
  return data.room.participantCount;
}

/**
 * Sends `count` messages over `streams` concurrent HTTP request loops, each
 * stream as one of `senders` in turn. `onSent` sees each message as its request
 * returns. Resolves with all of them in seq order.
 */
export async function sendMany(
  url: string,
  senders: TestUser[],
  roomId: string,
  count: number,
  options: { streams?: number; body?: (n: number) => string; onSent?: (message: SentMessage, sentSoFar: number) => void } = {},
): Promise<SentMessage[]> {
  const { streams = 4, body = (n) => `message ${n}` } = options;
  const sent: SentMessage[] = [];
  let claimed = 0;
  await Promise.all(
    Array.from({ length: streams }, async (_, stream) => {
      const sender = senders[stream % senders.length]!;
      for (let n = claimed++; n < count; n = claimed++) {
        const message = await sendMessage(url, sender.token, roomId, body(n));
        sent.push(message);
        options.onSent?.(message, sent.length);
      }
    }),
  );
  return sent.sort((a, b) => a.seq - b.seq);
}
