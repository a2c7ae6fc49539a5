import type { WebSocket } from 'ws';
import type { User } from '../../identity/user.js';
import type { FeedRequest, FeedService } from '../../messages/feed.service.js';
import type { FeedMember, RoomFeed } from '../../messages/room-feed.js';
import type { Message } from '../../messages/message.js';
import { frameHead, writeFrames } from '../websocket/raw-frames.js';
import type { RenderedTail, Shape } from './shapes.js';
import { SocketSubscriber } from './socket-subscriber.js';

/**
 * One message rendered for one shape, for the length of one dispatch: the
 * shared tail, and the frame of the subscription id seen last. Subscribers
 * with the same id (a client library counting from 1) get the very same
 * frame; the others a head of their own in front of the same tail.
 */
export class RenderedMessage {
  private lastId: string | null = null;
  private lastHead: Buffer | null = null;
  private whole: Buffer | null = null;

  constructor(readonly tail: RenderedTail) {}

  /**
   * Writes the frame for subscription `id`, whose payload is `prefix`
   * (`prefixLength` bytes) and the tail, straight to the socket: one whole
   * buffer when the same id came just before, else a head of its own and the
   * shared tail. False when the socket cannot take it now (`writeFrames`).
   */
  writeTo(socket: WebSocket, id: string, prefix: string, prefixLength: number): boolean {
    if (id === this.lastId) {
      // Seen twice in a row: one copy now saves a head and a second chunk for every next one.
      this.whole ??= Buffer.concat([this.lastHead!, this.tail]);
      return writeFrames(socket, this.whole, null);
    }
    this.lastId = id;
    this.lastHead = frameHead(prefix, prefixLength, this.tail.length);
    this.whole = null;
    return writeFrames(socket, this.lastHead, this.tail);
  }
}

/**
 * One fast-path subscription on one socket, fed straight from the room's feed:
 * the shape's shared bytes behind this subscription's own
 * `{"id":…,"type":"next","payload":` prefix. No per-subscriber promise,
 * execution or JSON.stringify, and no copy of the shared bytes: the frame's
 * head and the shared tail are written to the socket's TCP stream as they are
 * (transports/websocket/raw-frames.ts), all a socket gets in one turn of the
 * event loop in one write; a socket that cannot take that gets `ws.send`.
 *
 * It is also what graphql-ws holds for the subscription, and its membership
 * of the feed, presence and shape are fields released when it ends: one
 * object per idle subscriber.
 */
export class SocketMember extends SocketSubscriber implements FeedMember {
  lastSeq = 0;
  feed: RoomFeed | null = null;
  private feeds: FeedService | null = null;
  private user: User | null = null;

  constructor(
    socket: WebSocket,
    subscriptionId: string,
    private readonly shape: Shape,
    maxBufferedBytes: number,
  ) {
    super(socket, subscriptionId, maxBufferedBytes);
  }

  /** Joins the room's feed (and its presence) as `user`, until the subscription ends. */
  async enter(feeds: FeedService, user: User, request: FeedRequest): Promise<void> {
    this.feeds = feeds;
    this.user = user;
    await feeds.enter(user, request, this);
  }

  deliver(message: Message, shared: Map<unknown, unknown>): void {
    if (!this.takesFrames()) return;
    let rendered = shared.get(this.shape) as RenderedMessage | undefined;
    if (!rendered) shared.set(this.shape, (rendered = new RenderedMessage(this.shape.render(message))));
    if (this.direct && rendered.writeTo(this.socket, this.subscriptionId, this.prefix, this.prefixLength)) return;
    this.sendThroughWs([rendered.tail]);
  }

  protected override released(): void {
    this.shape.release();
    if (this.feeds) this.feeds.leave(this.user!, this);
  }
}
