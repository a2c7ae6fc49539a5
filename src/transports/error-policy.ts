import { GraphQLError, type ExecutionResult } from 'graphql';
import { createGraphQLError, isAsyncIterable, type Plugin } from 'graphql-yoga';
import { appError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { isDatabaseBusy } from '../infrastructure/db/busy.js';
import type { Logger } from '../logger.js';

const KNOWN_CODES = new Set<string>(ERROR_CODES);
export const UNEXPECTED_MESSAGE = 'Unexpected error.';

/**
 * Marks a subscribe function whose events never pass through the pipeline: the
 * fan-out fast path renders them itself, through this same policy
 * (`ErrorPolicy.forClient`). The policy then leaves its stream unwrapped, which
 * saves two iterator wrappers per idle subscription.
 */
export const SELF_RENDERED = Symbol('events rendered by the subscribe function');

export interface ErrorPolicy {
  /** The one plugin: every phase on every transport (HTTP, SSE, graphql-ws). */
  plugin: Plugin;
  /**
   * An error as clients may see it. Errors made on purpose (appError, and
   * graphql-js's and Yoga's own request errors) keep their message, with the
   * code mapped onto ERROR_CODES; anything else is a bug or an outage: the
   * client gets "Unexpected error." with INTERNAL_SERVER_ERROR, the operator the whole error.
   */
  forClient(error: unknown): GraphQLError;
}

export function createErrorPolicy(logger: Logger): ErrorPolicy {
  const forClient = (error: unknown): GraphQLError => {
    if (isExpected(error)) return withKnownCode(error);
    // Already masked in an earlier phase (execution, then the HTTP result): logged once is enough.
    if (error instanceof GraphQLError && error.extensions?.unexpected === true) return error;
    return isBusy(error) ? busy(error, logger) : masked(error, logger);
  };
  const fixResult = <R extends ExecutionResult>(result: R): R =>
    result.errors?.length ? { ...result, errors: result.errors.map(forClient) } : result;
  const fixStream = {
    onNext: ({ result, setResult }: { result: ExecutionResult; setResult: (r: ExecutionResult) => void }) => setResult(fixResult(result)),
  };

  const plugin: Plugin = {
    onParse: () => ({ result, replaceParseResult }) => {
      if (result instanceof Error) replaceParseResult(forClient(result));
    },
    onValidate: () => ({ result, setResult }) => {
      if (result.length > 0) setResult(result.map(forClient));
    },
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (isAsyncIterable(result)) return fixStream;
        setResult(fixResult(result));
        return undefined;
      },
    }),
    onSubscribe: ({ subscribeFn }) => {
      const selfRendered = SELF_RENDERED in subscribeFn;
      return {
        onSubscribeResult: ({ result, setResult }) => {
          if (!isAsyncIterable(result)) return setResult(fixResult(result));
          return selfRendered ? undefined : fixStream;
        },
        // An iterator that throws mid-stream (a subscriber too slow for its queue, an outage).
        onSubscribeError: selfRendered ? undefined : ({ error, setError }) => setError(forClient(error)),
      };
    },
    // HTTP and SSE: errors of the request itself (a malformed body, a GET mutation) arise before
    // execution, in Yoga, and reach clients only through here.
    onResultProcess: ({ result, setResult }) => {
      if (isAsyncIterable(result)) return;
      setResult(Array.isArray(result) ? result.map(fixResult) : fixResult(result));
    },
  };
  return { plugin, forClient };
}

/**
 * The error without Yoga's `extensions.http` (the HTTP status it asks for).
 * Yoga reads and drops it when it answers over HTTP; on a socket nothing
 * reads it, and a client would see it as part of the error.
 */
export function withoutHttpHint(error: GraphQLError): GraphQLError {
  if (!error.extensions?.http) return error;
  const { http: _http, ...extensions } = error.extensions;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions,
  });
}

/** Made on purpose: a GraphQLError all the way down, not marked unexpected. */
function isExpected(error: unknown): error is GraphQLError {
  let current: unknown = error;
  while (current instanceof GraphQLError) {
    if (current.extensions?.unexpected === true || current.extensions?.code === 'INTERNAL_SERVER_ERROR') return false;
    if (current.originalError == null) return true;
    current = current.originalError;
  }
  return false;
}

/**
 * graphql-js and Yoga name their request errors with codes of their own (or
 * none); clients see them as BAD_USER_INPUT. Every other extension stays (the
 * `http` status Yoga chose among them); the JSON parser's exception that Yoga
 * attaches to a malformed body's error is kept out of sight: the message says enough.
 */
function withKnownCode(error: GraphQLError): GraphQLError {
  const code = error.extensions?.code;
  const known = typeof code === 'string' && KNOWN_CODES.has(code);
  if (known && !('originalError' in error.extensions)) return error;
  const { originalError: parserException, ...extensions } = error.extensions;
  const fallback: ErrorCode = 'BAD_USER_INPUT';
  const coded = new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError ?? undefined,
    extensions: { ...extensions, code: known ? code : fallback },
  });
  // Yoga reads it to choose the HTTP status: an error carrying it failed before GraphQL ran, so its
  // 400 stands even for `accept: application/json` (where Yoga otherwise answers 200). Kept for that,
  // but not enumerable, so it is never serialised to a client.
  if (parserException !== undefined) Object.defineProperty(coded.extensions, 'originalError', { value: parserException, enumerable: false });
  return coded;
}

/** Seconds a client is asked to wait before retrying after UNAVAILABLE. */
const BUSY_RETRY_AFTER_SECONDS = 1;

function isBusy(error: unknown): boolean {
  return isDatabaseBusy(error instanceof GraphQLError ? error.originalError : error);
}

/** The database was locked or busy: nothing was stored, and a retry may succeed. A warning, not a bug. */
function busy(error: unknown, logger: Logger): GraphQLError {
  const located = error instanceof GraphQLError ? error : null;
  logger.warn({ err: located?.originalError ?? error, path: located?.path }, 'database busy: answered UNAVAILABLE');
  const answer = appError('UNAVAILABLE', 'The server is busy: nothing was stored, try again in a moment.', { retryAfterSeconds: BUSY_RETRY_AFTER_SECONDS });
  return new GraphQLError(answer.message, { nodes: located?.nodes, source: located?.source, positions: located?.positions, path: located?.path, extensions: answer.extensions });
}

function masked(error: unknown, logger: Logger): GraphQLError {
  const located = error instanceof GraphQLError ? error : null;
  const original = located?.originalError ?? error;
  logger.error({ err: original, path: located?.path }, 'unexpected error (masked for the client)');
  return createGraphQLError(UNEXPECTED_MESSAGE, {
    nodes: located?.nodes,
    source: located?.source,
    positions: located?.positions,
    path: located?.path,
    extensions: {
      code: 'INTERNAL_SERVER_ERROR' satisfies ErrorCode,
      unexpected: true,
      ...(located?.extensions?.http ? { http: located.extensions.http } : {}),
    },
  });
}
