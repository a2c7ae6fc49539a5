import type { ObservedSocket } from '../observed-socket.js';
import { CloseCode } from '../close-codes.js';
import { sessionOf } from './socket-session.js';

/** How often open sockets are checked for an expired token. */
export const EXPIRY_SWEEP_MS = 250;

/**
 * Timers shared by every socket rather than one or two each (they add up at
 * 10,000 sockets; Node keeps a timer list per distinct duration).
 *
 * Keep-alive: a peer that has not answered the previous ping by the next one is
 * dropped, so a vanished client is gone within two intervals. Token expiry: a
 * socket is closed 4403 "token expired" within EXPIRY_SWEEP_MS of it, so the
 * client reconnects with a fresh token (graphql-ws retries 4403). Init timeout:
 * a socket that has not sent connection_init within `initTimeoutMs` of opening
 * is closed 4408, as graphql-ws would (within EXPIRY_SWEEP_MS of the deadline).
 */
export function startSweeps(sockets: ReadonlySet<ObservedSocket>, keepAliveMs: number, initTimeoutMs: number): () => void {
  const keepAlive = setInterval(() => {
    for (const socket of sockets) {
      if (socket.awaitingPong) {
        socket.terminate();
        continue;
      }
      socket.awaitingPong = true;
      socket.ping();
    }
  }, keepAliveMs);
  keepAlive.unref();

  const expiry = setInterval(() => {
    const now = Date.now();
    for (const socket of sockets) {
      const session = sessionOf(socket);
      if (!session || socket.readyState !== socket.OPEN) continue;
      const viewer = session.viewer;
      if (viewer && viewer.expiresAt <= now) socket.close(CloseCode.Forbidden, 'token expired');
      // graphql-ws's own connectionInitWaitTimeout, without a timer per socket.
      else if (session.awaitingInitSince !== null && initTimeoutMs > 0 && now - session.awaitingInitSince >= initTimeoutMs) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }
  }, EXPIRY_SWEEP_MS);
  expiry.unref();

  return () => {
    clearInterval(keepAlive);
    clearInterval(expiry);
  };
}
