import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
import { EventQueue } from './events.js';
import { within } from './wait.js';

/**
 * A graphql-ws client as an app would make it, plus a subscription handle whose
 * next() waits (boundedly) for the next event.
 */
export function wsClient(wsUrl: string, connectionParams: Record<string, unknown> | (() => Record<string, unknown>), options: Partial<Parameters<typeof createClient>[0]> = {}): Client {
  return createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams, lazy: true, retryAttempts: 0, ...options });
}

export interface Subscription<T> {
  /** The next event's data; fails after `ms`. */
  next(ms?: number): Promise<T>;
  /** Collects `count` events. */
  take(count: number, ms?: number): Promise<T[]>;
  /** Resolves with the error the server ended the subscription with. */
  error(ms?: number): Promise<unknown>;
  /** Resolves when the server completes the subscription. */
  completed: Promise<void>;
  received: T[];
  unsubscribe(): void;
}

export function subscribe<T = any>(client: Client, query: string, variables?: Record<string, unknown>): Subscription<T> {
  const events = new EventQueue<T>('a subscription event');
  let failed: (error: unknown) => void = () => {};
  const errored = new Promise<unknown>((resolve) => (failed = resolve));
  let markDone: () => void = () => {};
  const completed = new Promise<void>((resolve) => (markDone = resolve));
  const fail = (error: unknown) => {
    events.fail(error);
    failed(error);
  };
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result: ExecutionResult<T>) => (result.errors ? fail(result.errors) : events.push(result.data as T)),
      error: fail,
      complete: markDone,
    },
  );
  return {
    next: (ms) => events.next(ms),
    take: (count, ms) => events.take(count, ms),
    error: (ms = 5_000) => within(errored, ms, 'a subscription error'),
    completed,
    received: events.received,
    unsubscribe,
  };
}

/** Resolves with the close event of a raw socket. */
export function closeOf(socket: WebSocket, ms = 5_000): Promise<{ code: number; reason: string }> {
  return within(
    new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    ms,
    'the socket to close',
  );
}
