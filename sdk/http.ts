import type { FormattedExecutionResult } from 'graphql';
import { ChatError } from './errors.js';

/** One GraphQL request as it goes on the wire. */
export interface GraphQLPayload {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
}

export interface Sink<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HttpEndpoint {
  url: string;
  fetch: FetchLike;
}

function headers(bearer: string | null, accept: string): Record<string, string> {
  return { 'content-type': 'application/json', accept, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) };
}

/**
 * POSTs one operation. Resolves with the GraphQL answer whatever its errors
 * (they are the caller's to judge); rejects with a NETWORK_ERROR ChatError
 * only when no GraphQL answer came back.
 */
export async function postGraphQL(endpoint: HttpEndpoint, payload: GraphQLPayload, bearer: string | null): Promise<FormattedExecutionResult> {
  let response: Response;
  try {
    response = await endpoint.fetch(endpoint.url, {
      method: 'POST',
      headers: headers(bearer, 'application/graphql-response+json, application/json'),
      body: JSON.stringify(payload),
    });
  } catch (error) {
    throw ChatError.network(`could not reach ${endpoint.url}`, error);
  }
  const text = await response.text().catch(() => '');
  try {
    const result = JSON.parse(text) as FormattedExecutionResult;
    if (result && typeof result === 'object' && ('data' in result || 'errors' in result)) return result;
  } catch {
    // Not JSON: a proxy's error page, say.
  }
  throw ChatError.network(`HTTP ${response.status} from ${endpoint.url} without a GraphQL answer`);
}

/**
 * One operation over Server-Sent Events (graphql-sse's "distinct connections"
 * mode, which Yoga speaks): `event: next` blocks, then `event: complete`.
 * A stream that ends or breaks without `complete` is an error (the connection
 * was lost), never a completion. Returns the abort.
 */
export function streamGraphQL(endpoint: HttpEndpoint, payload: GraphQLPayload, bearer: string | null, sink: Sink<FormattedExecutionResult>): () => void {
  const abort = new AbortController();
  let ended = false;
  const end = (how: () => void) => {
    if (ended) return;
    ended = true;
    how();
  };
  void (async () => {
    const response = await endpoint.fetch(endpoint.url, {
      method: 'POST',
      headers: headers(bearer, 'text/event-stream'),
      body: JSON.stringify(payload),
      signal: abort.signal,
    });
    if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
      // Refused before streaming: a GraphQL answer with errors, or none.
      const text = await response.text();
      let result: FormattedExecutionResult | null = null;
      try {
        result = JSON.parse(text) as FormattedExecutionResult;
      } catch {
        // falls through
      }
      if (result?.errors) return end(() => sink.error(result.errors));
      throw new Error(`HTTP ${response.status}: no event stream`);
    }
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let boundary: number;
      while ((boundary = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (event === 'complete') return end(() => sink.complete());
        if (event === 'next' && data.length > 0) sink.next(JSON.parse(data.join('\n')) as FormattedExecutionResult);
      }
    }
    throw new Error('the event stream ended without completing');
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) end(() => sink.error(ChatError.network('the event stream broke', error)));
  });
  return () => {
    ended = true;
    abort.abort();
  };
}
