import type { GraphQLFormattedError } from 'graphql';

/**
 * The codes a ChatError carries: the server's `extensions.code` values (see the
 * README), plus NETWORK_ERROR when no GraphQL answer arrived at all.
 */
export type ChatErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  // The server is busy (its database locked): nothing was done; retry after retryAfterSeconds.
  | 'UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | 'NETWORK_ERROR'
  // Anything else the server says (GRAPHQL_VALIDATION_FAILED from an older server, say).
  | (string & {});

/** What a call or a subscription failed with: the first error's code and message, and all of them. */
export class ChatError extends Error {
  override readonly name = 'ChatError';
  readonly code: ChatErrorCode;
  /** RATE_LIMITED: how long to wait before trying again, when the server said. */
  readonly retryAfterSeconds: number | null;
  readonly errors: readonly GraphQLFormattedError[];

  constructor(message: string, code: ChatErrorCode, errors: readonly GraphQLFormattedError[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.errors = errors;
    const retryAfter = errors[0]?.extensions?.retryAfterSeconds;
    this.retryAfterSeconds = typeof retryAfter === 'number' ? retryAfter : null;
  }

  static fromErrors(errors: readonly GraphQLFormattedError[]): ChatError {
    const first = errors[0];
    const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : 'INTERNAL_SERVER_ERROR';
    return new ChatError(first?.message ?? 'Unexpected error.', code, errors);
  }

  static network(message: string, cause?: unknown): ChatError {
    return new ChatError(message, 'NETWORK_ERROR', [], { cause });
  }
}

/** GraphQL errors as graphql-ws and SSE deliver them (an array of `{ message, extensions }`). */
export function isGraphQLErrorList(value: unknown): value is GraphQLFormattedError[] {
  return Array.isArray(value) && value.every((e) => typeof e === 'object' && e !== null && typeof (e as { message?: unknown }).message === 'string');
}
