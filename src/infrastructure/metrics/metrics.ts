import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The server's Prometheus series (prom-client), one set per server: tests run
 * several servers in one process and each counts its own. What is true of the
 * process itself (event-loop delay, memory, GC, file descriptors) is measured
 * once per process and rendered with every server's series.
 *
 * A mechanism only: it knows counters, not domains. The composition root
 * (app.ts) connects it to what it measures.
 */
export interface Metrics {
  readonly registry: Registry;
  /** WebSocket connections open now. */
  readonly openSockets: Gauge;
  /** WebSocket connections ended, by close code and by who closed (`server` or `client`). */
  readonly socketCloses: Counter<'code' | 'by'>;
  /** Sockets closed 4008 because they stopped reading. */
  readonly slowConsumerCloses: Counter;
  /** Subscriptions running now, by root field, on every transport. */
  readonly subscriptions: Gauge<'field'>;
  /** Messages handed to subscribers: one per message and subscriber, live or replayed. */
  readonly deliveries: Counter;
  /** Per message: from its commit timestamp to the last socket write of it in this process. */
  readonly fanoutLatency: Histogram;
  /** Messages stored by this instance (sendMessage that wrote a row). */
  readonly sends: Counter;
  /**
   * Requests refused by a limit or a budget, by rule (`depth`, `aliases`,
   * `sendMessage`...). Limits and budgets call `rejections.inc({ rule })`; rules
   * are names the server chooses, never client input (each is a series).
   */
  readonly rejections: Counter<'rule'>;
  /** Times the pub/sub asked every feed to re-read from the database (the Redis link came back). */
  readonly resyncs: Counter;
  /** Messages missed live (a lost event, an outage) and read back from the database. */
  readonly refilledMessages: Counter;
  /**
   * A gauge read when /metrics is scraped, for state something else already
   * keeps (a pool's counts, a link's state): nothing is done between scrapes.
   * `read` returns one value per label value set, or null to leave it out.
   */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => GaugeSample<L>[] | null): void;
  /** The Prometheus text exposition of this server's series and the process's. */
  render(): Promise<string>;
  readonly contentType: string;
}

export interface GaugeSample<L extends string> {
  labels?: Partial<Record<L, string>>;
  value: number;
}

/** Seconds; a message normally reaches its sockets within milliseconds, an outage's refill within seconds. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(): Metrics {
  // From now on, not from the first scrape: the event-loop delay monitor samples continuously.
  const ofProcess = processRegistry();
  const registry = new Registry();
  const registers = [registry];
  const metrics: Metrics = {
    registry,
    openSockets: new Gauge({ name: 'chat_websocket_open_sockets', help: 'WebSocket connections open now.', registers }),
    socketCloses: new Counter({
      name: 'chat_websocket_closes_total',
      help: 'WebSocket connections ended, by close code and by who closed them (server or client).',
      labelNames: ['code', 'by'] as const,
      registers,
    }),
    slowConsumerCloses: new Counter({ name: 'chat_websocket_slow_consumer_closes_total', help: 'Sockets closed 4008 "slow consumer" because they stopped reading.', registers }),
    subscriptions: new Gauge({ name: 'chat_subscriptions', help: 'Subscriptions running now, by root field (WebSocket and SSE).', labelNames: ['field'] as const, registers }),
    deliveries: new Counter({ name: 'chat_deliveries_total', help: 'Messages handed to subscribers (one per message and subscriber, live or replayed).', registers }),
    fanoutLatency: new Histogram({
      name: 'chat_fanout_latency_seconds',
      help: "Per message: from its commit timestamp (createdAt) to the last socket write of it in this process.",
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    sends: new Counter({ name: 'chat_messages_sent_total', help: 'Messages stored by this instance.', registers }),
    rejections: new Counter({ name: 'chat_rejections_total', help: 'Requests refused by a query limit or a rate budget, by rule.', labelNames: ['rule'] as const, registers }),
    resyncs: new Counter({ name: 'chat_pubsub_resyncs_total', help: 'Times live delivery was re-read from the database after the pub/sub link came back.', registers }),
    refilledMessages: new Counter({ name: 'chat_feed_refilled_messages_total', help: 'Messages missed live (lost event, outage) and read back from the database.', registers }),
    gauge<L extends string>(name: string, help: string, labelNames: readonly L[], read: () => GaugeSample<L>[] | null) {
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const sample of read() ?? []) {
            if (sample.labels) this.set(sample.labels, sample.value);
            else this.set(sample.value);
          }
        },
      });
    },
    async render() {
      return `${await ofProcess.metrics()}\n${await registry.metrics()}`;
    },
    contentType: registry.contentType,
  };
  return metrics;
}

let processMetrics: Registry | null = null;

/**
 * prom-client's default metrics (nodejs_eventloop_lag_*, process_*, nodejs_gc_*,
 * nodejs_heap_*…) describe the process, so they are collected once however many
 * servers it runs (each collector starts an event-loop delay monitor of its own).
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}
