/**
 * The WebSocket close codes this server sends, and what a client should do.
 * graphql-ws's own (4400, 4403, 4408, 4409, 4429, 4500…) are its `CloseCode`,
 * reused as they are; these are the ones it does not name.
 */
export { CloseCode } from 'graphql-ws';

export const ServerCloseCode = {
  /** Server restarting or stopping: reconnect (to another instance). */
  GoingAway: 1001,
  /** The peer broke a rule of this server (flooding); the reason says which. Not retried by graphql-ws clients. */
  PolicyViolation: 1008,
  /** Over a cap that frees up (too many open sockets for one user): retried later by graphql-ws clients. */
  TryAgainLater: 1013,
  /** Frame larger than the limit (ws closes with this itself). */
  MessageTooBig: 1009,
  /** The socket fell too far behind; reconnect and resume with `after`. */
  SlowConsumer: 4008,
} as const;
