import WebSocket from 'ws';
import { HttpPoster } from './http-post.js';
import { isTypingFrame, TYPING_QUERY, TYPING_SUBSCRIPTION_ID, TypingLoad, type TypingLoadResult, type TypingTarget } from './load-typing.js';
import { serve } from './ipc.js';
import { Samples, type LatencySummary } from './stats.js';

/**
 * The fan-out load: N raw `ws` sockets subscribed to one room over
 * graphql-transport-ws, and a publisher that posts messages over HTTP. It runs
 * pinned to its own core; the orchestrator drives it over IPC.
 *
 * Every published body is "m:<k>" (a measured message) or "w:<k>" (a warm-up);
 * each frame is matched by that marker, without JSON.parse, to keep the load
 * generator cheaper per delivery than the servers it measures. The send time
 * of message k is kept here, in the same process, so latency is exact.
 */

export interface FanoutTarget {
  kind: 'chat' | 'bare';
  /** http://127.0.0.1:<port>/graphql: where every message is sent. */
  url: string;
  /** Where the sockets go, socket i to socketUrls[i % length] (several instances); [url] for one server. */
  socketUrls: string[];
  roomId: string;
  /** Bearer tokens for the chat server, handed round-robin to the sockets; the first also publishes. */
  tokens: string[];
  /** --typing: the sockets that are typists (chat server only). */
  typing?: TypingTarget;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError: string | null;
  ms: number;
}

export interface PhaseResult {
  messages: number;
  subscribers: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** From the first publish to the last delivery. */
  elapsedMs: number;
  deliveriesPerSec: number;
  latencyMs: LatencySummary;
  publishErrors: number;
  firstPublishError: string | null;
  /** CPU time of this process over the phase, as a fraction of one core, and in µs. */
  loadBusy: number;
  cpuMicros: number;
  /** Set by the orchestrator: cores' worth of CPU other processes on the machine used meanwhile. */
  foreignCores?: number | null;
  /** Set by the orchestrator: the server side's CPU time over the phase (every instance, and Redis), µs. */
  serverMicros?: number;
  /** Sockets the server closed while they should have been open. */
  closedSockets: number;
  lastCloseReason: string | null;
  /** Frames that were neither a message nor expected (errors, completes). */
  otherFrames: number;
  firstOtherFrame: string | null;
}

const SUBSCRIBE_QUERY = 'subscription($r: ID!){ messageAdded(roomId:$r){ id seq body createdAt sender { handle } } }';
const SEND_MESSAGE = 'mutation($input: SendMessageInput!){ sendMessage(input:$input){ id seq } }';
const BODY_MARK = Buffer.from('"body":"');
const MEASURED = 'm'.charCodeAt(0);
const WARM_UP = 'w'.charCodeAt(0);
/** A phase that has had no delivery for this long is over; what is missing is lost. */
const STALL_MS = 5_000;
const WARM_UP_WAIT_MS = 500;
const WARM_UP_ROUNDS_MIN = 3;
const WARM_UP_ROUNDS_MAX = 60;

const sockets: WebSocket[] = [];
let warmed = new Uint8Array(0);
let warmedCount = 0;
let connectedCount = 0;
let warmWaiter: (() => void) | null = null;
let phase: Phase | null = null;
let nextIndex = 0;
let closing = false;
let closedSockets = 0;
let lastCloseReason: string | null = null;
let otherFrames = 0;
let firstOtherFrame: string | null = null;
let publisher: ((body: string) => Promise<void>) | null = null;
let poster: HttpPoster | null = null;
let typing: TypingLoad | null = null;

/** One measured run of messages: who got what, and when. */
class Phase {
  readonly sentAt: Float64Array;
  private readonly seen: Uint8Array;
  readonly latencies: Samples;
  delivered = 0;
  duplicates = 0;
  lastAt = 0;
  publishErrors = 0;
  firstPublishError: string | null = null;
  private complete: (() => void) | null = null;

  constructor(
    readonly base: number,
    readonly count: number,
    readonly subscribers: number,
  ) {
    this.sentAt = new Float64Array(count);
    this.seen = new Uint8Array(count * subscribers);
    this.latencies = new Samples(count * subscribers);
  }

  get expected(): number {
    return this.count * this.subscribers;
  }

  deliver(socket: number, index: number, now: number): void {
    const j = index - this.base;
    if (j < 0 || j >= this.count) return;
    const slot = socket * this.count + j;
    if (this.seen[slot]) {
      this.duplicates++;
      return;
    }
    this.seen[slot] = 1;
    this.delivered++;
    this.latencies.push(now - this.sentAt[j]!);
    this.lastAt = now;
    if (this.delivered === this.expected) this.complete?.();
  }

  async publish(j: number): Promise<void> {
    this.sentAt[j] = performance.now();
    try {
      await publisher!(`m:${this.base + j}`);
    } catch (error) {
      this.publishErrors++;
      this.firstPublishError ??= String(error);
    }
  }

  /** Resolves when every subscriber has every message, or when deliveries stall. */
  settle(): Promise<void> {
    if (this.delivered === this.expected) return Promise.resolve();
    return new Promise((resolve) => {
      let seen = this.delivered;
      let quietSince = performance.now();
      const timer = setInterval(() => {
        if (this.delivered !== seen) {
          seen = this.delivered;
          quietSince = performance.now();
        } else if (performance.now() - quietSince > STALL_MS) done();
      }, 100);
      const done = () => {
        clearInterval(timer);
        this.complete = null;
        resolve();
      };
      this.complete = done;
    });
  }

  result(startedAt: number, cpuBefore: NodeJS.CpuUsage): PhaseResult {
    const cpu = process.cpuUsage(cpuBefore);
    const elapsedMs = (this.lastAt || performance.now()) - startedAt;
    return {
      messages: this.count,
      subscribers: this.subscribers,
      expected: this.expected,
      delivered: this.delivered,
      lost: this.expected - this.delivered,
      duplicates: this.duplicates,
      elapsedMs,
      deliveriesPerSec: this.delivered / (elapsedMs / 1000),
      latencyMs: this.latencies.summarize(),
      publishErrors: this.publishErrors,
      firstPublishError: this.firstPublishError,
      loadBusy: (cpu.user + cpu.system) / 1000 / (performance.now() - startedAt),
      cpuMicros: cpu.user + cpu.system,
      closedSockets,
      lastCloseReason,
      otherFrames,
      firstOtherFrame,
    };
  }
}

function onFrame(socket: number, data: Buffer): void {
  if (typing && isTypingFrame(data)) return typing.onFrame(socket, data);
  const at = data.indexOf(BODY_MARK);
  if (at < 0) {
    otherFrames++;
    firstOtherFrame ??= data.toString('utf8', 0, 300);
    return;
  }
  const kind = data[at + BODY_MARK.length];
  let index = 0;
  for (let p = at + BODY_MARK.length + 2; p < data.length; p++) {
    const c = data[p]!;
    if (c < 48 || c > 57) break;
    index = index * 10 + (c - 48);
  }
  if (kind === MEASURED) phase?.deliver(socket, index, performance.now());
  else if (kind === WARM_UP && !warmed[socket]) {
    warmed[socket] = 1;
    if (++warmedCount === connectedCount) warmWaiter?.();
  }
}

function makePublisher(target: FanoutTarget): (body: string) => Promise<void> {
  if (target.kind === 'bare') {
    poster = new HttpPoster(new URL('/publish', target.url), 8);
    return async (body) => {
      const { status, text } = await poster!.post(JSON.stringify({ body }));
      if (status !== 200) throw new Error(`publish answered ${status}: ${text.slice(0, 200)}`);
    };
  }
  poster = new HttpPoster(new URL(target.url), 8);
  const authorization = `Bearer ${target.tokens[0]}`;
  return async (body) => {
    const input = { roomId: target.roomId, body, clientMessageId: body };
    const { status, text } = await poster!.post(JSON.stringify({ query: SEND_MESSAGE, variables: { input } }), authorization);
    if (status !== 200 || text.includes('"errors"')) throw new Error(`sendMessage answered ${status}: ${text.slice(0, 200)}`);
  };
}

function open(index: number, wsUrl: string, target: FanoutTarget): Promise<void> {
  const typist = typing?.isTypist(index) ?? false;
  const token = typist ? typing!.tokenOf(index) : target.tokens[index % target.tokens.length];
  const init = JSON.stringify({ type: 'connection_init', payload: target.kind === 'chat' ? { token } : {} });
  const subscribe = JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIBE_QUERY, variables: { r: target.roomId } } });
  const watchTyping = JSON.stringify({ id: TYPING_SUBSCRIPTION_ID, type: 'subscribe', payload: { query: TYPING_QUERY, variables: { r: target.roomId } } });
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws', { perMessageDeflate: false, skipUTF8Validation: true });
    sockets[index] = socket;
    socket.on('open', () => socket.send(init));
    socket.once('message', (data: Buffer) => {
      if (!data.includes('"connection_ack"')) return reject(new Error(`expected connection_ack, got ${data.toString('utf8', 0, 200)}`));
      socket.on('message', (frame: Buffer) => onFrame(index, frame));
      socket.send(subscribe);
      if (typist) socket.send(watchTyping);
      resolve();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      const hint = error.code === 'EMFILE' ? ' (out of file descriptors: raise `ulimit -n`)' : '';
      reject(new Error(`${error.code ?? ''} ${error.message}${hint}`.trim()));
    });
    socket.on('close', (code, reason) => {
      if (closing) return;
      closedSockets++;
      lastCloseReason = `${code} ${String(reason)}`;
      reject(new Error(`closed during the handshake: ${lastCloseReason}`));
    });
  });
}

serve({
  /** Opens and subscribes `n` sockets, at most `concurrency` handshakes at a time. */
  connect: async ({ target, n, concurrency }: { target: FanoutTarget; n: number; concurrency: number }): Promise<ConnectResult> => {
    const started = performance.now();
    const wsUrls = target.socketUrls.map((url) => url.replace(/^http/, 'ws'));
    publisher = makePublisher(target);
    typing = target.typing ? new TypingLoad(target.url, target.roomId, target.typing, (socket) => sockets[socket]!) : null;
    warmed = new Uint8Array(n);
    let next = 0;
    let failed = 0;
    let firstError: string | null = null;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, n) }, async () => {
        while (next < n) {
          const index = next++;
          try {
            await open(index, wsUrls[index % wsUrls.length]!, target);
          } catch (error) {
            failed++;
            firstError ??= String(error);
          }
        }
      }),
    );
    connectedCount = n - failed;
    return { connected: connectedCount, failed, firstError, ms: performance.now() - started };
  },

  /**
   * Publishes warm-up messages until every socket has received one (so every
   * subscription is live on the server), and at least a few to warm the JIT.
   */
  warmUp: async (): Promise<{ warmed: number; rounds: number; typingLive: number }> => {
    let rounds = 0;
    while (rounds < WARM_UP_ROUNDS_MAX && (rounds < WARM_UP_ROUNDS_MIN || warmedCount < connectedCount)) {
      const everyone = new Promise<void>((resolve) => (warmWaiter = resolve));
      await publisher!(`w:${rounds++}`);
      if (warmedCount < connectedCount) await Promise.race([everyone, new Promise((resolve) => setTimeout(resolve, WARM_UP_WAIT_MS))]);
      warmWaiter = null;
    }
    // Each typist's typing subscription is live once it has sent the current set.
    for (let waited = 0; typing && typing.live < typing.typists && waited < 10_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    return { warmed: warmedCount, rounds, typingLive: typing?.live ?? 0 };
  },

  /** --typing: the typists start typing (and keep on until typingStop). */
  typingStart: (): void => typing?.start(),

  /** --typing: the typists stop between measurements (their last true lapses on the server). */
  typingPause: (): void => typing?.pause(),

  /** --typing: the typists stop for good; what they did and received while typing. */
  typingStop: (): TypingLoadResult | null => typing?.stop() ?? null,

  /** `messages` back to back, `inFlight` publishes at a time; waits for every delivery. */
  burst: async ({ messages, inFlight }: { messages: number; inFlight: number }): Promise<PhaseResult> => {
    const run = (phase = new Phase(nextIndex, messages, sockets.length));
    nextIndex += messages;
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < messages) await run.publish(next++);
      }),
    );
    await run.settle();
    phase = null;
    return run.result(startedAt, cpuBefore);
  },

  /** An open-loop schedule: message j goes out at start + j / rate, whatever the answers. */
  steady: async ({ perSecond, durationMs }: { perSecond: number; durationMs: number }): Promise<PhaseResult> => {
    const messages = Math.max(1, Math.round((perSecond * durationMs) / 1000));
    const run = (phase = new Phase(nextIndex, messages, sockets.length));
    nextIndex += messages;
    const cpuBefore = process.cpuUsage();
    const startedAt = performance.now();
    const published: Promise<void>[] = [];
    for (let j = 0; j < messages; j++) {
      const wait = startedAt + (j * 1000) / perSecond - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      published.push(run.publish(j));
    }
    await Promise.all(published);
    await run.settle();
    phase = null;
    return run.result(startedAt, cpuBefore);
  },

  close: async (): Promise<void> => {
    closing = true;
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.readyState === WebSocket.CLOSED) return resolve();
            socket.once('close', () => resolve());
            socket.terminate();
          }),
      ),
    );
    poster?.close();
    typing?.close();
  },
});
