import type { WebSocket } from 'ws';
import { canWriteFrames } from '../websocket/raw-frames.js';
import { closedAsSlowConsumer } from './slow-consumer.js';

/** graphql-transport-ws speaks text frames; one options object for every send, not one per send. */
const TEXT_FRAME = { binary: false } as const;

/**
 * What both fast paths keep of one subscription on one socket (SocketMember
 * for messages, TypingMember for typing): the socket, the subscription id and
 * its `{"id":…,"type":"next","payload":` prefix, and whether frames may go
 * straight to the TCP stream; and the rules every delivery starts with and
 * falls back to.
 */
export abstract class SocketSubscriber {
  protected readonly prefix: string;
  protected readonly prefixLength: number;
  /** Frames may go straight to the TCP stream (no extension negotiated); else through ws.send. */
  protected readonly direct: boolean;

  constructor(
    protected readonly socket: WebSocket,
    protected readonly subscriptionId: string,
    private readonly maxBufferedBytes: number,
  ) {
    this.prefix = `{"id":${JSON.stringify(subscriptionId)},"type":"next","payload":`;
    this.prefixLength = Buffer.byteLength(this.prefix);
    this.direct = canWriteFrames(socket);
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
