import type { WebSocket } from 'ws';
import type { Logger } from '../../logger.js';
import { CloseCode, ServerCloseCode } from '../close-codes.js';
import type { createProtocolServer } from './operations.js';
import { openSession, SocketSession } from './socket-session.js';

type ProtocolServer = ReturnType<typeof createProtocolServer>;

/**
 * Maps one `ws` socket onto graphql-ws's protocol core: frames in, frames out,
 * close both ways. Per-socket state lives in its SocketSession.
 */
export function adaptSocket(socket: WebSocket, server: ProtocolServer, logger: Logger): void {
  let handle: (message: string) => Promise<void> = async () => {};
  const session = openSession(
    new SocketSession(
      socket,
      (message) => {
        handle(message).catch((error: unknown) => {
          logger.error({ err: error }, 'websocket message handling failed');
          socket.close(CloseCode.InternalServerError, 'Internal server error');
        });
      },
      () => socket.close(ServerCloseCode.PolicyViolation, 'too many messages while an operation starts'),
    ),
  );
  socket.on('error', (error) => logger.warn({ err: error }, 'websocket error'));
  const closed = server.opened(
    {
      protocol: socket.protocol,
      send: (data) => {
        if (socket.readyState === socket.OPEN) socket.send(data);
      },
      close: (code, reason) => socket.close(code, reason),
      onMessage: (handler) => {
        handle = handler;
        socket.on('message', (data) => session.receive(String(data)));
      },
    },
    session,
  );
  socket.once('close', (code, reason) => {
    session.close();
    void closed(code, String(reason));
  });
}
