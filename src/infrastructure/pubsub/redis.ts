import { randomUUID } from 'node:crypto';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import { channelName, type Listener, type PubSub, type Topic, type Topics, type Unsubscribe } from './pubsub.js';

/** How often the link is proven to carry messages, and how long a proof may take. */
const LIVENESS_INTERVAL_MS = 1_000;
const LIVENESS_TIMEOUT_MS = 1_500;

/**
 * The pub/sub shared by every instance: graphql-redis-subscriptions over two
 * ioredis connections (a subscriber connection can do nothing else). It
 * subscribes each channel once per process, however many local listeners.
 *
 * Redis pub/sub is fire-and-forget: whatever is published while the link is
 * down is lost. So the adapter tells the feed to resync (re-read from the
 * database) whenever the link comes back, and proves the link is alive by
 * sending itself a ping, since a killed pub/sub client can look connected.
 */
export class RedisPubSubAdapter implements PubSub {
  private readonly resyncListeners: (() => void)[] = [];
  private readonly livenessChannel = `liveness:${randomUUID()}`;
  private lastPong = Date.now();
  private livenessTimer: NodeJS.Timeout | null = null;
  private linkDown = false;
  private closed = false;

  private constructor(
    private readonly pubsub: RedisPubSub,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly logger: Logger,
  ) {}

  static async connect(url: string, logger: Logger): Promise<RedisPubSubAdapter> {
    const options = {
      // Keep retrying forever, at most every 2 s: live delivery comes back within 2 s of Redis.
      retryStrategy: (attempt: number) => Math.min(attempt * 200, 2_000),
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      lazyConnect: false,
    };
    const publisher = new Redis(url, { ...options, connectionName: 'chat-pub' });
    const subscriber = new Redis(url, { ...options, connectionName: 'chat-sub' });
    const adapter = new RedisPubSubAdapter(new RedisPubSub({ publisher, subscriber }), publisher, subscriber, logger);
    adapter.watch(publisher, 'publisher');
    adapter.watch(subscriber, 'subscriber');
    await adapter.startLiveness();
    return adapter;
  }

  /** Whether events flow right now; /health reports degraded while they do not. */
  get healthy(): boolean {
    return !this.linkDown && this.subscriber.status === 'ready' && this.publisher.status === 'ready';
  }

  async publish<T extends Topic>(topic: T, key: string, payload: Topics[T]): Promise<void> {
    await this.pubsub.publish(channelName(topic, key), payload);
  }

  async subscribe<T extends Topic>(topic: T, key: string, listener: Listener<T>): Promise<Unsubscribe> {
    const id = await this.pubsub.subscribe(channelName(topic, key), listener as (payload: unknown) => void);
    return async () => this.pubsub.unsubscribe(id);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  private watch(connection: Redis, role: string): void {
    let warned = false;
    // One line per failed attempt, without the stack: an outage is an expected condition here.
    connection.on('error', (error: Error) => {
      if (!this.closed) this.logger.warn({ role, error: error.message }, 'redis unreachable; retrying');
      warned = true;
    });
    connection.on('close', () => {
      if (!this.closed) this.markDown(`redis ${role} connection closed`);
    });
    connection.on('ready', () => {
      if (warned) this.logger.info({ role }, 'redis connection restored');
      warned = false;
      if (role === 'subscriber') void this.recover();
    });
  }

  private markDown(reason: string): void {
    if (!this.linkDown) this.logger.warn({ reason }, 'live delivery degraded: events will be re-read from the database');
    this.linkDown = true;
  }

  /** After the subscriber reconnects (ioredis resubscribes), re-read what was missed. */
  private async recover(): Promise<void> {
    if (!this.linkDown) return;
    this.linkDown = false;
    this.lastPong = Date.now();
    for (const listener of this.resyncListeners) listener();
  }

  private async startLiveness(): Promise<void> {
    await this.pubsub.subscribe(this.livenessChannel, () => {
      this.lastPong = Date.now();
      if (this.linkDown && this.subscriber.status === 'ready') void this.recover();
    });
    this.livenessTimer = setInterval(() => {
      if (this.publisher.status === 'ready') this.pubsub.publish(this.livenessChannel, Date.now()).catch(() => {});
      if (Date.now() - this.lastPong > LIVENESS_TIMEOUT_MS + LIVENESS_INTERVAL_MS && this.subscriber.status === 'ready') {
        // Connected but deaf (a killed pub/sub client): drop the link so ioredis reconnects and resubscribes.
        this.markDown('redis subscriber stopped delivering');
        this.lastPong = Date.now();
        this.subscriber.disconnect(true);
      }
    }, LIVENESS_INTERVAL_MS);
    this.livenessTimer.unref();
  }
}
