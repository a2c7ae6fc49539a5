import type WebSocket from 'ws';
import { HttpPoster } from './http-post.js';

/**
 * The typists of `--typing` (docs/benchmarks.md): a share of the fan-out
 * sockets belong to users of their own, subscribe to `typing(roomId)` besides
 * `messageAdded`, and type the way people do: setTyping(true), again after
 * RENEW_MS while still typing, setTyping(false) after TYPING_MS, a pause of
 * PAUSE_MS, and again. Their cycles are spread evenly, so about half of them
 * type at any moment and the set changes all the time: every typing subscriber
 * gets as many updates as the server's coalescing lets through.
 *
 * setTyping goes over HTTP (as a client whose mutations take HTTP, Apollo's
 * split link say) or, with `--typing=socket`, as a graphql-ws operation over
 * the typist's own socket.
 *
 * Typing frames are told from message frames by their id (its first
 * character: "2" for the typing subscription, "t" for a setTyping sent over the
 * socket), without parsing them.
 */

export const TYPING_QUERY = 'subscription($r: ID!){ typing(roomId:$r){ roomId users { id handle } } }';
const SET_TYPING = 'mutation($r: ID!, $t: Boolean!){ setTyping(roomId:$r, typing:$t) }';
/** The id of each typist socket's typing subscription; message subscriptions are "1". */
export const TYPING_SUBSCRIPTION_ID = '2';
const TYPING_ID_BYTE = TYPING_SUBSCRIPTION_ID.charCodeAt(0);
const SET_TYPING_ID_BYTE = 't'.charCodeAt(0);
/** `{"id":"` is 7 bytes: the id's first character follows. */
const ID_OFFSET = 7;
/** Where a typing frame's type starts: `{"id":"2","type":"` is 18 bytes; "n" for next. */
const TYPE_OFFSET = `{"id":"${TYPING_SUBSCRIPTION_ID}","type":"`.length;
const NEXT_BYTE = 'n'.charCodeAt(0);

const RENEW_MS = 2_000;
const TYPING_MS = 4_000;
const PAUSE_MS = 4_000;
const CYCLE_MS = TYPING_MS + PAUSE_MS;

export interface TypingTarget {
  /** One token per typist socket: a distinct user each. */
  tokens: string[];
  /** Every `every`-th socket (0, every, 2·every, …) is a typist. */
  every: number;
  /** How setTyping travels. */
  via: 'http' | 'socket';
}

export interface TypingLoadResult {
  typists: number;
  elapsedMs: number;
  calls: number;
  callErrors: number;
  firstCallError: string | null;
  /** Typing updates received over the whole run, by every typist socket. */
  updates: number;
  updateBytes: number;
  /** The most updates one typist socket received within any 1 s (the coalescing bound, as a client sees it). */
  maxUpdatesInOneSecond: number;
  /** Typing subscriptions the server ended (an error, say a queue overflow, or a complete): each is a failure. */
  subscriptionsEnded: number;
  firstEnd: string | null;
}

export function isTypingFrame(data: Buffer): boolean {
  const first = data[ID_OFFSET];
  return (first === TYPING_ID_BYTE && data[ID_OFFSET + 1] === 0x22) || first === SET_TYPING_ID_BYTE;
}

/** The typists' behaviour, and what their typing subscriptions received. */
export class TypingLoad {
  private readonly poster: HttpPoster;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Per typist socket: arrival times of its updates (ms, performance.now()). */
  private readonly arrivals = new Map<number, number[]>();
  private running = false;
  private startedAt = 0;
  /** Time spent typing in earlier start()–pause() stretches. */
  private typedMs = 0;
  private calls = 0;
  private callErrors = 0;
  private firstCallError: string | null = null;
  private updates = 0;
  private updateBytes = 0;
  private nextOperationId = 0;
  private subscriptionsEnded = 0;
  private firstEnd: string | null = null;

  constructor(
    url: string,
    private readonly roomId: string,
    private readonly target: TypingTarget,
    /** The socket of typist socket index `socket`, for setTyping over the socket. */
    private readonly socketOf: (socket: number) => WebSocket,
  ) {
    this.poster = new HttpPoster(new URL(url), 16);
  }

  isTypist(socket: number): boolean {
    return socket % this.target.every === 0 && socket / this.target.every < this.target.tokens.length;
  }

  tokenOf(socket: number): string {
    return this.target.tokens[socket / this.target.every]!;
  }

  /** Typist sockets whose typing subscription has sent its first update (the current set): it is live. */
  get live(): number {
    return this.arrivals.size;
  }

  get typists(): number {
    return this.target.tokens.length;
  }

  onFrame(socket: number, data: Buffer): void {
    if (data[ID_OFFSET] === SET_TYPING_ID_BYTE) return this.onReply(data);
    if (data[TYPE_OFFSET] !== NEXT_BYTE) {
      this.subscriptionsEnded++;
      this.firstEnd ??= data.toString('utf8', 0, 300);
      return;
    }
    let times = this.arrivals.get(socket);
    if (!times) this.arrivals.set(socket, (times = []));
    // Before start(): the first update only, which proves the subscription live.
    if (!this.running) return;
    times.push(performance.now());
    this.updates++;
    this.updateBytes += data.length;
  }

  /** Every typist starts its cycle, the cycles spread evenly over CYCLE_MS. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt = performance.now();
    const count = this.target.tokens.length;
    for (let k = 0; k < count; k++) this.after((k / count) * CYCLE_MS, () => this.cycle(k));
  }

  /** Stops typing until the next start(); in-flight calls finish, and the server lapses what they said. */
  pause(): void {
    if (!this.running) return;
    this.running = false;
    this.typedMs += performance.now() - this.startedAt;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** Stops typing for good and reports over every stretch of typing. */
  stop(): TypingLoadResult {
    this.pause();
    const elapsedMs = this.typedMs;
    let maxUpdatesInOneSecond = 0;
    for (const times of this.arrivals.values()) {
      for (let i = 0, j = 0; j < times.length; j++) {
        while (times[j]! - times[i]! >= 1_000) i++;
        maxUpdatesInOneSecond = Math.max(maxUpdatesInOneSecond, j - i + 1);
      }
    }
    return {
      typists: this.target.tokens.length,
      elapsedMs,
      calls: this.calls,
      callErrors: this.callErrors,
      firstCallError: this.firstCallError,
      updates: this.updates,
      updateBytes: this.updateBytes,
      maxUpdatesInOneSecond,
      subscriptionsEnded: this.subscriptionsEnded,
      firstEnd: this.firstEnd,
    };
  }

  close(): void {
    this.poster.close();
  }

  /** Typist k (socket k·every): one round of typing and pausing. */
  private cycle(k: number): void {
    this.say(k, true);
    this.after(RENEW_MS, () => this.say(k, true));
    this.after(TYPING_MS, () => this.say(k, false));
    this.after(CYCLE_MS, () => this.cycle(k));
  }

  /** The answer to a setTyping sent over the socket: `next` with true, then `complete`. */
  private onReply(data: Buffer): void {
    if (data.includes('"type":"complete"') || data.includes('"setTyping":true')) return;
    this.callErrors++;
    this.firstCallError ??= `setTyping over the socket answered ${data.toString('utf8', 0, 200)}`;
  }

  private after(ms: number, work: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.running) work();
    }, ms);
    this.timers.add(timer);
  }

  private say(k: number, typing: boolean): void {
    this.calls++;
    const payload = { query: SET_TYPING, variables: { r: this.roomId, t: typing } };
    if (this.target.via === 'socket') {
      // Answered by a `next` and a `complete` frame with this id (see onReply).
      this.socketOf(k * this.target.every).send(JSON.stringify({ id: `t${this.nextOperationId++}`, type: 'subscribe', payload }));
      return;
    }
    this.poster
      .post(JSON.stringify(payload), `Bearer ${this.target.tokens[k]}`)
      .then(({ status, text }) => {
        if (status !== 200 || !text.includes('"setTyping":true')) throw new Error(`setTyping answered ${status}: ${text.slice(0, 200)}`);
      })
      .catch((error: unknown) => {
        this.callErrors++;
        this.firstCallError ??= String(error);
      });
  }
}
