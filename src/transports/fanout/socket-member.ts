import type { WebSocket } from 'ws';
import type { FeedMember } from '../../messages/room-feed.js';
import type { Message } from '../../messages/message.js';
import { ServerCloseCode } from '../close-codes.js';
import type { Shape } from './shapes.js';

/** graphql-transport-ws speaks text frames; one options object for every send, not one per send. */
const TEXT_FRAME = { binary: false } as const;

/** How long a socket closed as a slow consumer has to read its backlog and the close frame. */
const SLOW_CONSUMER_GRACE_MS = 10_000;

/**
 * One fast-path subscription on one socket, fed straight from the room's feed:
 * the shape's shared bytes behind this subscription's own precomputed
 * `{"id":…,"type":"next","payload":` prefix. No per-subscriber promise,
 * execution or JSON.stringify.
 */
export class SocketMember implements FeedMember {
  lastSeq = 0;
  private readonly prefix: Buffer;

  constructor(
    private readonly socket: WebSocket,
    subscriptionId: string,
    private readonly shape: Shape,
    private readonly maxBufferedBytes: number,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(subscriptionId)},"type":"next","payload":`);
  }

  deliver(message: Message, shared: Map<unknown, unknown>): void {
    const socket = this.socket;
    if (socket.readyState !== socket.OPEN) return;
    // A socket that stopped reading must not hold the others back or grow without bound.
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      socket.close(ServerCloseCode.SlowConsumer, 'slow consumer');
      // The close frame waits behind the unread bytes; a peer that never reads them is cut off
      // after a grace period rather than holding its buffers (and its place in presence) longer.
      setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
      return;
    }
    let tail = shared.get(this.shape) as Buffer | undefined;
    if (!tail) shared.set(this.shape, (tail = this.shape.render(message)));
    socket.send(Buffer.concat([this.prefix, tail], this.prefix.length + tail.length), TEXT_FRAME);
  }
}
