import type { WebSocket } from 'ws';
import type { User } from '../../identity/user.js';
import { usersOf, type TypingView } from '../../typing/typing.js';
import { frameHead, writeFrameParts } from '../websocket/raw-frames.js';
import type { Shape } from './shapes.js';
import { SocketSubscriber } from './socket-subscriber.js';
import { TypingRendering } from './typing-rendering.js';

/**
 * Renderings of the update in hand, by its list of typists (one array per
 * update, shared by all its subscribers) and shape: the first subscriber of a
 * shape renders it, the rest reuse it, and it goes when the update's list does.
 * null: the update does not split (TypingRendering.of), each view renders itself.
 */
const renderings = new WeakMap<readonly User[], Map<Shape, TypingRendering | null>>();

/**
 * One fast-path typing subscription on one socket: its frames are the shared
 * rendering of the update behind this subscription's own
 * `{"id":…,"type":"next","payload":` prefix, written straight to the socket
 * (transports/websocket/raw-frames.ts) like the message fan-out's. A room of
 * hundreds watching hundreds type costs one rendering per update and a few
 * slices of shared bytes per subscriber, not an execution per subscriber.
 */
export class TypingMember extends SocketSubscriber {
  constructor(
    socket: WebSocket,
    subscriptionId: string,
    private readonly roomId: string,
    private readonly shape: Shape,
    maxBufferedBytes: number,
  ) {
    super(socket, subscriptionId, maxBufferedBytes);
  }

  /** Sends this subscriber its view (a TypingListener); returns how many users it rendered. */
  deliver(view: TypingView): number {
    if (!this.takesFrames()) return 0;
    let byShape = renderings.get(view.everyone);
    if (!byShape) renderings.set(view.everyone, (byShape = new Map()));
    let rendering = byShape.get(this.shape);
    let rendered = 0;
    if (rendering === undefined) {
      byShape.set(this.shape, (rendering = TypingRendering.of(this.shape, this.roomId, view.everyone)));
      rendered = view.everyone.length;
    }
    if (!rendering) return this.renderOwn(view);
    if (!(this.direct && this.writeDirect(rendering, view.selfIndex))) this.sendThroughWs(rendering.partsWithout(view.selfIndex));
    return rendered;
  }

  /** Writes the frame: a head of its own in front of the shared chunks, or, for everyone's view, the whole frame of the id. */
  private writeDirect(rendering: TypingRendering, selfIndex: number): boolean {
    if (selfIndex < 0) return writeFrameParts(this.socket, [rendering.wholeFrame(this.subscriptionId, this.prefix, this.prefixLength)]);
    const head = frameHead(this.prefix, this.prefixLength, rendering.lengthWithout(selfIndex));
    return writeFrameParts(this.socket, [head, ...rendering.partsWithout(selfIndex)]);
  }

  protected override released(): void {
    this.shape.release();
  }

  /** An update that does not split (an error in its rendering): this view is executed alone, as the general path would. */
  private renderOwn(view: TypingView): number {
    const users = usersOf(view);
    const payload = this.shape.payloadOf({ roomId: this.roomId, users });
    this.sendThroughWs(`${JSON.stringify(payload)}}`);
    return users.length;
  }
}
