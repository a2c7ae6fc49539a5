import { createGraphQLError } from 'graphql-yoga';
import type { GraphQLError } from 'graphql';

/**
 * Every `extensions.code` a client can see; nothing else is ever sent (the error
 * policy, transports/error-policy.ts, maps anything else onto this list).
 */
/** UNAVAILABLE: the server could not do it now (the database is locked or busy); retry after extensions.retryAfterSeconds. */
export const ERROR_CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'RATE_LIMITED', 'UNAVAILABLE', 'INTERNAL_SERVER_ERROR'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * An expected failure, shown to the client as it is. Anything thrown that is not
 * made here is masked as INTERNAL_SERVER_ERROR and logged.
 */
export function appError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return createGraphQLError(message, { extensions: { ...extensions, code } });
}

export const badInput = (message: string) => appError('BAD_USER_INPUT', message);
export const notFound = (message: string) => appError('NOT_FOUND', message);
export const unauthenticated = (message: string) => appError('UNAUTHENTICATED', message);
export const forbidden = (message: string) => appError('FORBIDDEN', message);
