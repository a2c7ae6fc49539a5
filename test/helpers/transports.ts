import type { Client } from 'graphql-ws';
import type { GraphQLResponse } from './graphql.js';
import { gql } from './graphql.js';
import { within } from './wait.js';
import { wsClient } from './ws.js';

/**
 * One operation over each of the three ways a client reaches the server, read
 * the same way: the first result as a GraphQLResponse. For a subscription that
 * is its first event, or the error it was refused with, whichever came first.
 */
export type Transport = 'http' | 'ws' | 'sse';
export const TRANSPORTS: readonly Transport[] = ['http', 'ws', 'sse'];

export interface Endpoint {
  url: string;
  wsUrl: string;
}

/** The first result of `query` over `transport`; `token` null sends none (not possible over graphql-ws, which needs one). */
export async function firstResult(
  transport: Transport,
  endpoint: Endpoint,
  query: string,
  variables: Record<string, unknown>,
  token: string | null,
  ms = 5_000,
): Promise<GraphQLResponse> {
  if (transport === 'http') return gql(endpoint.url, query, variables, token);
  if (transport === 'sse') return sseFirst(endpoint.url, query, variables, token, ms);
  if (token === null) throw new Error('a graphql-ws connection needs a token in connection_init');
  const client = wsClient(endpoint.wsUrl, { authorization: `Bearer ${token}` });
  try {
    return await wsFirst(client, query, variables, ms);
  } finally {
    await client.dispose();
  }
}

/** The first result of an operation on an open graphql-ws client; the operation is ended after it. */
export function wsFirst(client: Client, query: string, variables: Record<string, unknown>, ms = 5_000): Promise<GraphQLResponse> {
  let unsubscribe = () => {};
  const first = new Promise<GraphQLResponse>((resolve, reject) => {
    unsubscribe = client.subscribe(
      { query, variables },
      {
        next: (result) => resolve(result as GraphQLResponse),
        // graphql-ws reports an operation refused before it ran as a list of GraphQL errors.
        error: (error) => (Array.isArray(error) ? resolve({ errors: error as GraphQLResponse['errors'] }) : reject(error)),
        complete: () => reject(new Error('the operation completed without a result')),
      },
    );
  });
  return within(first, ms, 'the first result over graphql-ws').finally(() => unsubscribe());
}

/** The first `next` event of an SSE response (GraphQL over SSE, as Yoga serves it); the stream is aborted after it. */
export async function sseFirst(url: string, query: string, variables: Record<string, unknown>, token: string | null, ms = 5_000): Promise<GraphQLResponse> {
  const abort = new AbortController();
  const read = (async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: abort.signal,
    });
    if (!response.headers.get('content-type')?.startsWith('text/event-stream')) {
      throw new Error(`not an event stream: HTTP ${response.status} ${await response.text()}`);
    }
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error('the event stream ended without a next event');
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        if (lines.find((l) => l.startsWith('event:'))?.slice(6).trim() !== 'next') continue;
        return JSON.parse(lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n')) as GraphQLResponse;
      }
    }
  })();
  try {
    return await within(read, ms, 'the first SSE event');
  } finally {
    abort.abort();
    read.catch(() => {});
  }
}
