import { createGraphQLError } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';

/** Every `extensions.code` a client can see. Nothing else is ever sent. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

/**
 * An expected failure, shown to the client as it is. Anything thrown that is not
 * made here is masked as INTERNAL_SERVER_ERROR and logged.
 */
export function appError(code: ErrorCode, message: string): GraphQLError {
  return createGraphQLError(message, { extensions: { code } });
}

export const badInput = (message: string) => appError('BAD_USER_INPUT', message);
export const notFound = (message: string) => appError('NOT_FOUND', message);
export const unauthenticated = (message: string) => appError('UNAUTHENTICATED', message);
