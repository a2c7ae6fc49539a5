import { randomUUID } from 'node:crypto';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Logger } from '../../logger.js';
import type { RedisConnections } from '../redis/connections.js';
import { channelName, type Listener, type PubSub, type Topic, type Topics, type Unsubscribe } from './pubsub.js';

/** How often the subscriber link proves it still carries messages, and how late a proof may be. */
const LIVENESS_INTERVAL_MS = 500;
const LIVENESS_DEADLINE_MS = 1_500;

/**
 * The pub/sub shared by every instance: graphql-redis-subscriptions over the two
 * ioredis connections. It subscribes each channel once per process, however many
 * local listeners, and unsubscribes when the last one leaves.
 *
 * Redis pub/sub is fire-and-forget: what is published while the link is down is
 * lost. So whenever the link comes back the adapter asks its subscribers to
 * resync (they re-read from the database), and it proves the link alive by
 * sending itself a ping, because a killed pub/sub client can look connected.
 */
export class RedisPubSubAdapter implements PubSub {
  private readonly pubsub: RedisPubSub;
  private readonly resyncListeners: (() => void)[] = [];
  private readonly livenessChannel = `liveness:${randomUUID()}`;
  private lastProof = Date.now();
  private livenessTimer: NodeJS.Timeout | null = null;
  /** Why live delivery is not trustworthy right now; null when it is. */
  private degradedReason: string | null = 'connecting to redis';

  constructor(
    private readonly redis: RedisConnections,
    private readonly logger: Logger,
  ) {
    this.pubsub = new RedisPubSub({ publisher: redis.command, subscriber: redis.subscriber });
    redis.subscriber.on('close', () => this.degrade('redis subscriber connection lost'));
    redis.command.on('close', () => this.degrade('redis command connection lost'));
    // ioredis resubscribes every channel on reconnect; the liveness ping then confirms and resyncs.
    this.startLiveness();
  }

  /** null when events flow; otherwise why not (shown by /health). */
  get problem(): string | null {
    return this.degradedReason;
  }

  async publish<T extends Topic>(topic: T, key: string, payload: Topics[T]): Promise<void> {
    await this.pubsub.publish(channelName(topic, key), payload);
  }

  /**
   * Resolves once Redis confirmed the subscription, or at once while Redis is
   * away: the subscription then completes on reconnect, and the resync that
   * follows fills whatever was published meanwhile.
   */
  async subscribe<T extends Topic>(topic: T, key: string, listener: Listener<T>): Promise<Unsubscribe> {
    const subscribed = this.pubsub.subscribe(channelName(topic, key), listener as (payload: unknown) => void);
    if (this.degradedReason === null) {
      const id = await subscribed;
      return async () => this.pubsub.unsubscribe(id);
    }
    subscribed.catch((error: unknown) => this.logger.warn({ err: error, topic, key }, 'redis subscribe failed'));
    return async () => this.pubsub.unsubscribe(await subscribed);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.redis.close();
  }

  private degrade(reason: string): void {
    if (this.degradedReason === null) this.logger.warn({ reason }, 'live delivery degraded; missed events will be re-read from the database');
    this.degradedReason ??= reason;
  }

  private recover(): void {
    if (this.degradedReason === null) return;
    this.degradedReason = null;
    this.logger.info('live delivery restored; resyncing from the database');
    for (const listener of this.resyncListeners) listener();
  }

  private startLiveness(): void {
    this.pubsub
      .subscribe(this.livenessChannel, () => {
        this.lastProof = Date.now();
        this.recover();
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'redis liveness subscription failed'));
    this.livenessTimer = setInterval(() => {
      if (this.redis.command.status === 'ready') this.pubsub.publish(this.livenessChannel, Date.now()).catch(() => {});
      const silentFor = Date.now() - this.lastProof;
      if (silentFor > LIVENESS_DEADLINE_MS && this.redis.subscriber.status === 'ready' && this.redis.command.status === 'ready') {
        // Connected but deaf (for example a CLIENT KILL of the pub/sub client that left a half-open
        // socket): drop the link so ioredis reconnects and resubscribes.
        this.degrade('redis subscriber stopped delivering');
        this.lastProof = Date.now();
        this.redis.subscriber.disconnect(true);
      }
    }, LIVENESS_INTERVAL_MS);
    this.livenessTimer.unref();
  }
}
