/**
 * Every WebSocket close code this server sends, and what a client should do.
 * graphql-ws's own codes (4400, 4408, 4409, 4429…) keep their library meaning.
 */
export const CloseCode = {
  /** Server restarting or stopping: reconnect (to another instance). */
  GoingAway: 1001,
  /** Frame larger than the limit (ws closes with this itself). */
  MessageTooBig: 1009,
  /** The token was missing, invalid or expired; the reason says which. Get a new token, reconnect. */
  Forbidden: 4403,
  /** The socket fell too far behind; reconnect and resume with `after`. */
  SlowConsumer: 4008,
  /** No connection_init in time (graphql-ws). */
  ConnectionInitTimeout: 4408,
} as const;
