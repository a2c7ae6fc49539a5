import type { WebSocket } from 'ws';
import { HeldSubscription } from '../../infrastructure/streams/held-subscription.js';
import { canWriteFrames } from '../websocket/raw-frames.js';
import { closedAsSlowConsumer } from './slow-consumer.js';

/** graphql-transport-ws speaks text frames; one options object for every send, not one per send. */
const TEXT_FRAME = { binary: false } as const;

/** A subscription id, and the `{"id":…,"type":"next","payload":` prefix of its frames with its length in bytes. */
interface IdPrefix {
  readonly id: string;
  readonly text: string;
  readonly bytes: number;
}

/**
 * Prefixes by subscription id, shared by every subscriber with that id:
 * clients that number their operations (from 1, as the bench's do) use the
 * same few ids on every socket, and their idle subscribers need not keep a
 * prefix string each (some 60 bytes). graphql-ws's own client sends a UUID per
 * operation, which gets a prefix of its own as before. Bounded: cleared when
 * full, so hostile ids cost at most this many entries.
 */
const prefixes = new Map<string, IdPrefix>();
const PREFIXES_KEPT = 1_024;

function prefixOf(id: string): IdPrefix {
  let prefix = prefixes.get(id);
  if (!prefix) {
    if (prefixes.size >= PREFIXES_KEPT) prefixes.clear();
    const text = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    prefixes.set(id, (prefix = { id, text, bytes: Buffer.byteLength(text) }));
  }
  return prefix;
}

/**
 * One fast-path subscription on one socket, as graphql-ws holds it (a
 * HeldSubscription) and as its events reach the socket (SocketMember for
 * messages, TypingMember for typing): the socket, the subscription id and its
 * frame prefix, whether frames may go straight to the TCP stream, and the
 * rules every delivery starts with and falls back to. One object per idle
 * subscriber, the largest number of objects a server holds: what it releases
 * when it ends is in its fields (released()), not in closures.
 */
export abstract class SocketSubscriber extends HeldSubscription {
  private readonly idPrefix: IdPrefix;
  /** Frames may go straight to the TCP stream (no extension negotiated); else through ws.send. */
  protected readonly direct: boolean;

  constructor(
    protected readonly socket: WebSocket,
    subscriptionId: string,
    private readonly maxBufferedBytes: number,
  ) {
    super();
    this.idPrefix = prefixOf(subscriptionId);
    this.direct = canWriteFrames(socket);
  }

  protected get subscriptionId(): string {
    return this.idPrefix.id;
  }

  /** `{"id":…,"type":"next","payload":`, this subscription's part of each frame. */
  protected get prefix(): string {
    return this.idPrefix.text;
  }

  /** The prefix's length in bytes. */
  protected get prefixLength(): number {
    return this.idPrefix.bytes;
  }

  /** Whether a frame may be sent now: the socket is open and keeps up (else it is closed 4008, slow-consumer.ts). */
  protected takesFrames(): boolean {
    const socket = this.socket;
    return socket.readyState === socket.OPEN && !closedAsSlowConsumer(socket, this.maxBufferedBytes);
  }

  /** The frame through `ws`, for a socket frames cannot be written to straight: the prefix, then `payload`. */
  protected sendThroughWs(payload: string | readonly Buffer[]): void {
    this.socket.send(typeof payload === 'string' ? this.prefix + payload : Buffer.concat([Buffer.from(this.prefix), ...payload]), TEXT_FRAME);
  }
}
