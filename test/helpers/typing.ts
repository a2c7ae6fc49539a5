import type { Client } from 'graphql-ws';
import { EventQueue } from './events.js';
import { gqlOk, type GraphQLResponse } from './graphql.js';
import { within } from './wait.js';

/** Typing and "who is here" as a client app would ask for them. */

export const TYPING = 'subscription($roomId: ID!) { typing(roomId: $roomId) { roomId users { id handle } } }';
export const SET_TYPING = 'mutation($roomId: ID!, $typing: Boolean!) { setTyping(roomId: $roomId, typing: $typing) }';
export const PARTICIPANTS = 'query($id: ID!, $first: Int) { room(id: $id) { participantCount participants(first: $first) { id handle } } }';

export interface TypingEvent {
  typing: { roomId: string; users: { id: string; handle: string }[] };
}

/** One typing update as a test reads it: who (ids, sorted: the set has no order) and when it arrived. */
export interface TypingSeen {
  at: number;
  ids: string[];
  roomId: string;
}

export async function setTyping(url: string, token: string, roomId: string, typing: boolean): Promise<void> {
  const data = await gqlOk<{ setTyping: boolean }>(url, SET_TYPING, { roomId, typing }, token);
  if (data.setTyping !== true) throw new Error(`setTyping answered ${JSON.stringify(data.setTyping)}`);
}

export const idsOf = (event: TypingEvent): string[] => event.typing.users.map((user) => user.id).sort();

/** The typing subscription over graphql-ws, each update stamped with its arrival time. */
export function watchTyping(client: Client, roomId: string): EventQueue<TypingSeen> & { unsubscribe(): void } {
  const events = new EventQueue<TypingSeen>('a typing update');
  const unsubscribe = client.subscribe<TypingEvent>(
    { query: TYPING, variables: { roomId } },
    {
      next: (result) => {
        if (result.errors) return events.fail(result.errors);
        const event = result.data!;
        events.push({ at: Date.now(), ids: idsOf(event), roomId: event.typing.roomId });
      },
      error: (error) => events.fail(error),
      complete: () => events.fail(new Error('the typing subscription completed')),
    },
  );
  return Object.assign(events, { unsubscribe });
}

/** The first result of a subscription over SSE (data or errors), read raw, with or without a token. */
export async function sseFirstResult<T = unknown>(url: string, query: string, variables: Record<string, unknown>, token?: string): Promise<GraphQLResponse<T>> {
  const abort = new AbortController();
  try {
    return await within(
      (async () => {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ query, variables }),
          signal: abort.signal,
        });
        const reader = response.body!.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`the event stream ended without a result: ${buffer}`);
          buffer += decoder.decode(value, { stream: true });
          for (const block of buffer.split('\n\n').slice(0, -1)) {
            const lines = block.split('\n');
            if (lines.find((line) => line.startsWith('event:'))?.slice(6).trim() !== 'next') continue;
            return JSON.parse(lines.filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trimStart()).join('\n')) as GraphQLResponse<T>;
          }
        }
      })(),
      5_000,
      'the first SSE result',
    );
  } finally {
    abort.abort();
  }
}
