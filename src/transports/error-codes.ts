import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import type { ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

const CODES = new Set<string>(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR']);

/**
 * Errors of the request itself (a parse or validation failure, a variable of the
 * wrong type) come from graphql-js and Yoga with their own codes or none; clients
 * see them as BAD_USER_INPUT, so every error carries a code from one list.
 */
export function withKnownCode(error: GraphQLError): GraphQLError {
  const code = error.extensions?.code;
  const known = typeof code === 'string' && CODES.has(code);
  // Yoga attaches the JSON parser's exception to a malformed body's error; the message says enough.
  if (known && !('originalError' in error.extensions)) return error;
  const { originalError: _dropped, ...extensions } = error.extensions;
  const fallback: ErrorCode = 'BAD_USER_INPUT';
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...extensions, code: known ? code : fallback },
  });
}

/**
 * Anything that is not a GraphQLError made on purpose is a bug or an outage:
 * the client gets "Unexpected error." with INTERNAL_SERVER_ERROR, the operator the whole error.
 */
export function createErrorMasker(logger: Logger) {
  return (error: unknown, message: string): Error => {
    const masked = yogaMaskError(error, message, false);
    if (masked !== error) {
      const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
      logger.error({ err: original, path: error instanceof GraphQLError ? error.path : undefined }, 'unexpected error (masked for the client)');
    }
    return masked;
  };
}
