import { getOperationAST, Kind, type ExecutionArgs } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Kysely } from 'kysely';
import { poolUse } from '../infrastructure/db/connect.js';
import type { Metrics } from '../infrastructure/metrics/metrics.js';
import { HeldSubscription } from '../infrastructure/streams/held-subscription.js';
import type { MessageObserver } from '../messages/message-observer.js';
import { ServerCloseCode } from './close-codes.js';
import type { SocketWatcher } from './observed-socket.js';

/**
 * The composition root's side of the metrics: what feeds each series. Every
 * hook here runs once per message, socket or subscription, never once per
 * delivery (the fan-out loop only counts; the feed reports the count).
 */

/** Sends, deliveries, fan-out latency and refills, from the messages domain. */
export function messageMetrics(metrics: Metrics): MessageObserver {
  const { sends, deliveries, fanoutLatency, refilledMessages } = metrics;
  return {
    stored: () => sends.inc(),
    dispatched(message, count) {
      if (count === 0) return;
      deliveries.inc(count);
      // createdAt is taken just before the message's transaction; the feed calls this after its last socket write.
      fanoutLatency.observe(Math.max(0, Date.now() - Date.parse(message.createdAt)) / 1000);
    },
    replayed: (count) => {
      if (count > 0) deliveries.inc(count);
    },
    refilled: (count) => refilledMessages.inc(count),
  };
}

/** Close codes a peer may send that are worth a series of their own; the rest are `other` (peers choose them). */
const PEER_CODES = new Set([1000, 1001, 1005, 1006]);

/** Open sockets, closes by code (a server's close counted when sent), slow-consumer closes. */
export function socketMetrics(metrics: Metrics): SocketWatcher {
  const { openSockets, socketCloses, slowConsumerCloses } = metrics;
  return {
    opened: () => openSockets.inc(),
    closing: (_socket, code) => {
      socketCloses.inc({ code: String(code), by: 'server' });
      if (code === ServerCloseCode.SlowConsumer) slowConsumerCloses.inc();
    },
    closed: (_socket, end) => {
      openSockets.dec();
      if (end.by === 'client') socketCloses.inc({ code: PEER_CODES.has(end.code) ? String(end.code) : 'other', by: 'client' });
    },
  };
}

/**
 * Subscriptions running now, by root field, on every transport: a pipeline
 * plugin. The fast path's held subscription is told directly (no iterator
 * wrapper per idle subscription); a general-path stream is followed to its end.
 */
export function useSubscriptionMetrics(metrics: Metrics): Plugin {
  const decrements = new Map<string, () => void>();
  const decrementFor = (field: string) => {
    let decrement = decrements.get(field);
    if (!decrement) decrements.set(field, (decrement = () => metrics.subscriptions.dec({ field })));
    return decrement;
  };
  return {
    onSubscribe({ args }) {
      return {
        onSubscribeResult({ result }) {
          const field = rootFieldOf(args);
          if (result instanceof HeldSubscription) {
            metrics.subscriptions.inc({ field });
            result.onEnd(decrementFor(field));
            return undefined;
          }
          if (!isAsyncIterable(result)) return undefined;
          metrics.subscriptions.inc({ field });
          return { onEnd: decrementFor(field) };
        },
      };
    },
  };
}

/** The subscription's root field (validated: one of the schema's, never client text). */
function rootFieldOf(args: ExecutionArgs): string {
  const selection = getOperationAST(args.document, args.operationName)?.selectionSet.selections[0];
  return selection?.kind === Kind.FIELD ? selection.name.value : 'other';
}

export interface WatchedState {
  db: Kysely<any>;
  /** null while live delivery works, else why not; absent without Redis. */
  redisProblem?: () => string | null;
  /** Sends waiting for the group commit. */
  pendingWrites: () => number;
  /** Registers a listener for the pub/sub's resyncs. */
  onResync: (listener: () => void) => void;
}

/** Series read at scrape time from state kept elsewhere: Redis link, DB pool, writer queue; and resyncs. */
export function watchState(metrics: Metrics, state: WatchedState): void {
  const { redisProblem } = state;
  if (redisProblem) {
    metrics.gauge('chat_redis_up', '1 while the Redis pub/sub link delivers (proven by a ping through it), else 0.', [], () => [{ value: redisProblem() === null ? 1 : 0 }]);
  }
  state.onResync(() => metrics.resyncs.inc());
  metrics.gauge('chat_db_pool_connections', 'PostgreSQL pool: connections open (total), idle, and queries waiting for one (waiting).', ['state'], () => {
    const use = poolUse(state.db);
    return use && [
      { labels: { state: 'total' }, value: use.total },
      { labels: { state: 'idle' }, value: use.idle },
      { labels: { state: 'waiting' }, value: use.waiting },
    ];
  });
  metrics.gauge('chat_message_write_queue', 'Sends waiting for the group commit (both dialects; the one SQLite writer or the PostgreSQL transaction in flight).', [], () => [{ value: state.pendingWrites() }]);
}
