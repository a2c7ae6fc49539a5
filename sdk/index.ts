/**
 * The chat API's client SDK: `createChatClient` keeps the identity, renews the
 * token, reconnects and resumes every subscription by itself; every operation
 * of the contract is a typed call. Apollo Client and urql users take the same
 * client through `chat-api/sdk/apollo` and `chat-api/sdk/urql`.
 */
export { createChatClient, randomId, type ChatClient, type ChatClientOptions, type ConnectionState, type Observer, type TransportKind, type Unsubscribe } from './client.js';
export { ChatError, type ChatErrorCode } from './errors.js';
export { memoryStorage, type ChatStorage, type Session, type SessionUser } from './identity.js';
export type { FetchLike, Sink } from './http.js';
export * from './generated/graphql.js';
