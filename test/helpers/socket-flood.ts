import { gql } from './graphql.js';
import type { Closed, RawSocket } from './realtime.js';
import { within } from './wait.js';

/**
 * A socket that floods, as an attacker writes it (raw graphql-transport-ws
 * frames on helpers/realtime.ts's raw sockets), and a bystander who measures what the flood
 * costs everyone else. Used by test/socket-budgets.test.ts (the rules) and
 * scripts/socket-flood.ts (the p99 figures).
 */

export type Flood = 'pings' | 'subscribes' | 'churn';

/** The frames of one flood: `count` pings, `count` subscribes to the room's messages, or `count` subscribe/complete pairs. */
export function floodFrames(kind: Flood, count: number, roomId: string): string[] {
  const subscribe = (id: string) => JSON.stringify({ id, type: 'subscribe', payload: { query: `subscription { messageAdded(roomId: "${roomId}") { id seq body } }` } });
  if (kind === 'pings') return Array.from({ length: count }, () => '{"type":"ping"}');
  if (kind === 'subscribes') return Array.from({ length: count }, (_, i) => subscribe(`s${i}`));
  return Array.from({ length: count }, (_, i) => [subscribe(`c${i % 10}`), JSON.stringify({ id: `c${i % 10}`, type: 'complete' })]).flat();
}

/** Writes every frame at once (as fast as the socket takes them); resolves with how the server closed the socket, or null if it did not within `ms`. */
export async function flood(raw: RawSocket, frames: string[], ms = 10_000): Promise<Closed | null> {
  for (const frame of frames) {
    if (raw.socket.readyState !== raw.socket.OPEN) break;
    raw.socket.send(frame);
  }
  return within(raw.closed, ms, 'the flooding socket to be closed').catch(() => null);
}

/**
 * Sends one message every `intervalMs` into `roomId` (over HTTP, as `token`)
 * and keeps, for each, how long it took from the send to the bystander's socket.
 */
export function steadySender(url: string, token: string, roomId: string, intervalMs: number) {
  const sentAt = new Map<string, number>();
  let stopped = false;
  let n = 0;
  const errors: unknown[] = [];
  const loop = (async () => {
    while (!stopped) {
      const body = `steady ${n++}`;
      sentAt.set(body, performance.now());
      const result = await gql(url, 'mutation($r: ID!, $b: String!) { sendMessage(input: { roomId: $r, body: $b }) { id } }', { r: roomId, b: body }, token);
      if (result.errors) errors.push(result.errors);
      await new Promise((resolve) => setTimeout(resolve, intervalMs)); // pacing the load
    }
  })();
  return {
    sentAt,
    errors,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
