import type { WebSocket } from 'ws';
import { ServerCloseCode } from '../close-codes.js';

/** How long a socket closed as a slow consumer has to read its backlog and the close frame. */
const SLOW_CONSUMER_GRACE_MS = 10_000;

/**
 * The fast paths' backpressure rule: a socket whose unsent bytes stay above
 * `maxBufferedBytes` stopped reading, and must not hold the others back or grow
 * without bound. It is closed 4008 "slow consumer" (true: send it nothing more).
 */
export function closedAsSlowConsumer(socket: WebSocket, maxBufferedBytes: number): boolean {
  if (socket.bufferedAmount <= maxBufferedBytes) return false;
  socket.close(ServerCloseCode.SlowConsumer, 'slow consumer');
  // The close frame waits behind the unread bytes; a peer that never reads them is cut off
  // after a grace period rather than holding its buffers (and its place in presence) longer.
  setTimeout(() => socket.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
  return true;
}
