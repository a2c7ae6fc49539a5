import type { WebSocket } from 'ws';
import type { Viewer } from '../../identity/viewer.js';
import type { LastingConnection } from '../../schema/context.js';
import type { FrameBudget } from '../budgets/socket-budgets.js';

/** What a socket may spend, set at its upgrade. */
export interface SessionBudget {
  /** The client's address, from the upgrade request (TRUST_PROXY decides which). */
  clientIp: string;
  /** The socket's frames per second (transports/budgets); past it the socket is closed. null: RATE_LIMITS=off. */
  frames: FrameBudget | null;
  /** The socket's operation starts per second; past it they wait their turn. null: RATE_LIMITS=off. */
  starts: FrameBudget | null;
}

/** The viewer of an authenticated socket; the expiry sweep closes the socket at its `expiresAt`. */
export type SocketViewer = Extract<Viewer, { problem: null }>;

/** Messages a socket may send while one of its operations is starting; past that it is flooding. */
export const MAX_HELD_MESSAGES = 1_000;

/**
 * What the transport knows of one socket, kept off the socket itself (graphql-ws
 * carries it as `ctx.extra`; the shared sweeps find it through `sessionOf`).
 * The adapter (socket-adapter.ts) extends it with graphql-ws's view of the
 * socket, so each socket has one object of ours, not two.
 *
 * It also orders the socket's incoming messages around operation starts:
 * graphql-ws forgets an id when it is completed, so `subscribe x, complete x,
 * subscribe x` in one burst would start the second `x` while the first is still
 * starting, and the first, finishing later, would take the second's place and
 * be left running, unseen, holding its room's presence after the socket closes.
 * A subscribe for an id that is still starting therefore waits (with everything
 * sent after it) until that start has settled.
 *
 * Idle sockets are what a server holds most of, so the fields are few and
 * plain: the budget's parts rather than the budget object, nothing allocated
 * before it is needed, and what is needed only for a while dropped after it.
 */
export abstract class SocketSession implements LastingConnection {
  viewer: SocketViewer | null = null;
  /** connection_init carried the operators' admin token: no user, and no expiry. */
  operator = false;
  /**
   * When the socket opened (Date.now()), until connection_init comes, then null: the sweep
   * closes 4408 a socket that is late with it. (null, not a flag beside the time: a number
   * this large is a heap object of its own, kept no longer than it is needed.)
   */
  awaitingInitSince: number | null = Date.now();
  /** The client's address, from the upgrade request (TRUST_PROXY decides which). */
  readonly clientIp: string;
  /** graphql-ws's context of the socket, from connection_init on: where direct-subscriptions.ts holds its operations. */
  protocolContext: object | null = null;
  private readonly frames: FrameBudget | null;
  private readonly starts: FrameBudget | null;
  /** Ids whose operation is starting, each with a promise that resolves when graphql-ws holds the result; null when none is. */
  private starting: Map<string, Promise<void>> | null = null;
  /** Messages held back, in order, behind a subscribe whose id is still starting. */
  private held: string[] | null = null;
  private isClosed = false;

  constructor(
    readonly socket: WebSocket,
    budget: SessionBudget,
  ) {
    this.clientIp = budget.clientIp;
    this.frames = budget.frames;
    this.starts = budget.starts;
  }

  /** Hands a message to graphql-ws. */
  protected abstract handOver(message: string): void;

  /** The socket floods (past its frame budget, or MAX_HELD_MESSAGES held back): close it, saying why. */
  protected abstract flooded(reason: string): void;

  /** Handling one of its messages failed unexpectedly (a bug, not the client's): log it and close the socket 1011. */
  abstract handlingFailed(error: unknown): void;

  /** Whether frames are counted: without a frame budget nothing needs to hear of the socket's pings. */
  get countsFrames(): boolean {
    return this.frames !== null;
  }

  /**
   * One frame's worth of the socket's budget, before the frame is even parsed.
   * Past it the socket is flooding: it is closed, and nothing it sent after is
   * handled, so one socket's burst costs others almost nothing.
   */
  spend(): boolean {
    if (this.isClosed) return false;
    if (this.frames === null || this.frames.take()) return true;
    this.end();
    this.flooded('too many messages');
    return false;
  }

  /** renewToken over this socket: it keeps its subscriptions past the old token's expiry. */
  adoptViewer(viewer: SocketViewer): void {
    if (viewer.user.id === this.viewer?.user.id) this.viewer = viewer;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The socket closed: messages still held back are dropped, never started after the fact. */
  end(): void {
    this.isClosed = true;
    this.held = null;
  }

  /** A message from the peer. */
  receive(message: string): void {
    if (!this.spend()) return;
    if (this.held) {
      if (this.held.length >= MAX_HELD_MESSAGES) return this.flooded('too many messages while an operation starts');
      this.held.push(message);
      return;
    }
    if (this.startingIdOf(message) !== null || !this.mayStart(message)) {
      this.held = [message];
      void this.release();
      return;
    }
    this.handOver(message);
  }

  /** Marks `id` as starting; call the returned function once graphql-ws has the outcome. */
  startOperation(id: string): () => void {
    let settle!: () => void;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    (this.starting ??= new Map()).set(id, settled);
    return () => {
      if (this.starting?.get(id) === settled) this.starting.delete(id);
      // An empty map is some 200 bytes: a socket that subscribed once and idles should not keep one.
      if (this.starting?.size === 0) this.starting = null;
      settle();
    };
  }

  private async release(): Promise<void> {
    while (this.held && this.held.length > 0) {
      const next: string = this.held[0]!;
      const id = this.startingIdOf(next);
      if (id !== null) {
        await this.starting!.get(id);
        // graphql-ws stores the outcome a few microtasks after our hook returns it.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      // Closed while waiting: close() dropped the rest.
      if (this.isClosed) return;
      if (!this.mayStart(next)) {
        // Paced: this socket has started its share of operations for now.
        await new Promise((resolve) => setTimeout(resolve, this.starts!.msUntilNext()));
        continue;
      }
      this.held.shift();
      this.handOver(next);
    }
    this.held = null;
  }

  /**
   * Whether `message` may go on now as far as the socket's start budget goes:
   * anything but a subscribe does; a subscribe takes a start (past them, it
   * waits, with everything after it). So a socket's burst of operations is
   * spread out instead of holding up everyone else's events.
   */
  private mayStart(message: string): boolean {
    // A cheap test, no parse: a frame that merely mentions "subscribe" is at worst paced too.
    return this.starts === null || !message.includes('"subscribe"') || this.starts.take();
  }

  /** The id of a subscribe message for an id that is starting, else null (parsed only while some id is). */
  private startingIdOf(message: string): string | null {
    if (!this.starting) return null;
    try {
      const parsed = JSON.parse(message) as { type?: unknown; id?: unknown };
      return parsed.type === 'subscribe' && typeof parsed.id === 'string' && this.starting.has(parsed.id) ? parsed.id : null;
    } catch {
      return null;
    }
  }
}

const sessions = new WeakMap<WebSocket, SocketSession>();

export function openSession<T extends SocketSession>(session: T): T {
  sessions.set(session.socket, session);
  return session;
}

export function sessionOf(socket: WebSocket): SocketSession | undefined {
  return sessions.get(socket);
}
