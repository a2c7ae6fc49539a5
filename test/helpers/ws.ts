import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';
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
  const received: T[] = [];
  const waiters: (() => void)[] = [];
  let failure: unknown = null;
  let failed: (error: unknown) => void = () => {};
  const errored = new Promise<unknown>((resolve) => (failed = resolve));
  let markDone: () => void = () => {};
  const completed = new Promise<void>((resolve) => (markDone = resolve));
  let cursor = 0;
  const wake = () => waiters.splice(0).forEach((w) => w());
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result: ExecutionResult<T>) => {
        if (result.errors) {
          failure = result.errors;
          failed(result.errors);
        } else received.push(result.data as T);
        wake();
      },
      error: (error) => {
        failure = error;
        failed(error);
        wake();
      },
      complete: () => {
        markDone();
        wake();
      },
    },
  );
  const nextEvent = async (): Promise<T> => {
    while (cursor >= received.length) {
      if (failure) throw failure instanceof Error ? failure : new Error(JSON.stringify(failure));
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    return received[cursor++]!;
  };
  return {
    next: (ms = 5_000) => within(nextEvent(), ms, 'a subscription event'),
    take: async (count, ms = 10_000) => {
      const out: T[] = [];
      await within(
        (async () => {
          while (out.length < count) out.push(await nextEvent());
        })(),
        ms,
        `${count} subscription events`,
      );
      return out;
    },
    error: (ms = 5_000) => within(errored, ms, 'a subscription error'),
    completed,
    received,
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
