import WebSocket from 'ws';
import { createChatClient, memoryStorage, type ChatClient, type Session } from '../sdk/index.js';

/**
 * One person reading a room: an SDK client (src of truth for what a user sees)
 * subscribed to messageAdded, plus what lies under it: every messageAdded
 * frame its sockets received (the SDK drops a seq it already delivered, so a
 * server that sends one twice shows here and not in `delivered`), and the
 * history reads the SDK made to fill a gap.
 */
export class Subscriber {
  readonly chat: ChatClient;
  /** seqs in the order the SDK delivered them to the app. */
  readonly delivered: number[] = [];
  /** Date.now() when each seq was delivered (parallel to `delivered`). */
  readonly deliveredAt: number[] = [];
  /** messageAdded frames received over the sockets, by seq. */
  readonly frames = new Map<number, number>();
  gapFills = 0;
  reconnects = 0;
  /** Sockets opened (the first one included). */
  sockets = 0;
  /** How its sockets ended, by close code. */
  readonly closes = new Map<number, number>();
  /** Sockets the client itself cut off (the SDK's pong timeout: a server that did not answer a ping within 5 s). */
  terminated = 0;
  /** Why sockets failed (upgrade refused, connection reset…). */
  readonly socketErrors: string[] = [];
  errors: string[] = [];
  private maxSeq = 0;
  private readonly seqWaiters = new Set<{ seq: number; resolve: () => void }>();

  constructor(
    url: string,
    session: Session,
    readonly roomId: string,
    after: string | null,
  ) {
    const storage = memoryStorage();
    void storage.setItem('chat-api.session', JSON.stringify(session));
    const frames = this.frames;
    const subscriber = this;
    // A `ws` WebSocket that also counts what arrives, beside graphql-ws's own listener.
    class CountingWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols);
        subscriber.sockets++;
        this.on('close', (code) => subscriber.closes.set(code, (subscriber.closes.get(code) ?? 0) + 1));
        this.on('unexpected-response', (_request, response) => subscriber.socketErrors.push(`upgrade answered ${response.statusCode}`));
        this.on('error', (error) => subscriber.socketErrors.push(error.message));
        this.on('message', (data) => {
          const text = data.toString();
          if (!text.includes('"messageAdded"')) return;
          const seq = (JSON.parse(text) as { payload?: { data?: { messageAdded?: { seq?: number } } } }).payload?.data?.messageAdded?.seq;
          if (typeof seq === 'number') frames.set(seq, (frames.get(seq) ?? 0) + 1);
        });
      }

      override terminate(): void {
        subscriber.terminated++;
        super.terminate();
      }
    }
    this.chat = createChatClient({
      url,
      storage,
      webSocketImpl: CountingWebSocket,
      transport: 'websocket',
      fetchImpl: (input, init) => {
        // The SDK's gap fill pages back through the history with its own `sdkBefore` variable.
        if (typeof init?.body === 'string' && init.body.includes('"sdkBefore"')) this.gapFills++;
        return fetch(input, init);
      },
    });
    this.chat.on('state', (state) => {
      if (state === 'reconnecting') this.reconnects++;
    });
    this.chat.messageAdded(
      { roomId, after },
      {
        next: (message) => {
          this.delivered.push(message.seq);
          this.deliveredAt.push(Date.now());
          if (message.seq > this.maxSeq) this.maxSeq = message.seq;
          for (const waiter of this.seqWaiters) {
            if (this.maxSeq >= waiter.seq) {
              this.seqWaiters.delete(waiter);
              waiter.resolve();
            }
          }
        },
        error: (error) => this.errors.push(`${error.code}: ${error.message}`),
      },
    );
  }

  get online(): boolean {
    return this.chat.state === 'online';
  }

  /** When (Date.now()) the first seq ≥ `seq` was delivered, or null. */
  reachedAt(seq: number): number | null {
    for (let i = 0; i < this.delivered.length; i++) if (this.delivered[i]! >= seq) return this.deliveredAt[i]!;
    return null;
  }

  /** Resolves once a seq ≥ `seq` has been delivered. */
  reached(seq: number): Promise<void> {
    if (this.maxSeq >= seq) return Promise.resolve();
    return new Promise((resolve) => this.seqWaiters.add({ seq, resolve }));
  }

  /** What the app saw of from…to: each seq exactly once, in order. */
  check(from: number, to: number): { lost: number; doubled: number; outOfOrder: number; rawRepeats: number } {
    const counts = new Map<number, number>();
    let outOfOrder = 0;
    let previous = -Infinity;
    for (const seq of this.delivered) {
      if (seq < from || seq > to) continue;
      counts.set(seq, (counts.get(seq) ?? 0) + 1);
      if (seq <= previous) outOfOrder++;
      previous = seq;
    }
    let lost = 0;
    let doubled = 0;
    for (let seq = from; seq <= to; seq++) {
      const n = counts.get(seq) ?? 0;
      if (n === 0) lost++;
      if (n > 1) doubled += n - 1;
    }
    let rawRepeats = 0;
    for (const [seq, n] of this.frames) if (seq >= from && seq <= to && n > 1) rawRepeats += n - 1;
    return { lost, doubled, outOfOrder, rawRepeats };
  }

  close(): Promise<void> {
    for (const waiter of this.seqWaiters) waiter.resolve();
    this.seqWaiters.clear();
    return this.chat.close();
  }
}
