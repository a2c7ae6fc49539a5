import { randomUUID } from 'node:crypto';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Logger } from '../../logger.js';
import type { RedisConnections } from '../redis/connections.js';
import { channelName, type Listener, type PubSub, type TopicMap, type Unsubscribe } from './pubsub.js';

/** How often the subscriber link proves it still carries messages, and how late a proof may be. */
const LIVENESS_INTERVAL_MS = 500;
const LIVENESS_DEADLINE_MS = 1_500;
/** Every instance listens here for "an event may have been lost: re-read from the database". */
const RESYNC_CHANNEL = 'cluster:resync';

/** The part of RedisPubSub's private state that subscribeChannel() reaches into (graphql-redis-subscriptions 2.7). */
interface PendingSubscriptions {
  subsPendingRefsMap: Map<string, { pending: { catch(onRejected: () => void): unknown } }>;
}

/**
 * The pub/sub shared by every instance: graphql-redis-subscriptions over the two
 * ioredis connections. It subscribes each channel once per process, however many
 * local listeners, and unsubscribes when the last one leaves.
 *
 * Redis pub/sub is fire-and-forget: what is published while the link is down is
 * lost. So whenever the link comes back the adapter asks its subscribers to
 * resync (they re-read from the database), and it proves the link alive by
 * sending itself a ping, because a killed pub/sub client can look connected.
 * An event this instance failed to publish is lost for every instance, even
 * those whose links never dropped: once it can publish again, it asks all of
 * them to resync.
 */
export class RedisPubSubAdapter<Topics extends TopicMap> implements PubSub<Topics> {
  private readonly pubsub: RedisPubSub;
  private readonly resyncListeners: (() => void)[] = [];
  private readonly liveWaiters: (() => void)[] = [];
  private readonly livenessChannel = `liveness:${randomUUID()}`;
  private lastProof = Date.now();
  private livenessTimer: NodeJS.Timeout | null = null;
  /** A publish failed since the last cluster-wide resync request went out. */
  private unpublished = false;
  private closing = false;
  /** Why live delivery is not trustworthy right now; null when it is. */
  private degradedReason: string | null = 'connecting to redis';

  /**
   * @param namespace prefixes every channel: the deployment id, so deployments
   * sharing one Redis never hear each other.
   */
  constructor(
    private readonly redis: RedisConnections,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {
    this.pubsub = new RedisPubSub({ publisher: redis.command, subscriber: redis.subscriber });
    redis.subscriber.on('close', () => this.degrade('redis subscriber connection lost'));
    redis.command.on('close', () => this.degrade('redis command connection lost'));
    // Silence while a link was down proves nothing: a link that just came back gets a full
    // deadline to deliver a ping, or the watchdog would drop it again at once after every outage.
    // It is pinged at once, so readiness (at start, after an outage) need not wait for the next tick.
    for (const connection of [redis.subscriber, redis.command]) {
      connection.on('ready', () => {
        this.lastProof = Date.now();
        this.ping();
      });
    }
    // ioredis resubscribes every channel on reconnect; the liveness ping then confirms and resyncs.
    this.startLiveness();
  }

  /** null when events flow; otherwise why not (shown by /health). */
  get problem(): string | null {
    return this.degradedReason;
  }

  async publish<T extends keyof Topics & string>(topic: T, key: string, payload: Topics[T]): Promise<void> {
    try {
      await this.pubsub.publish(this.channel(channelName(topic, key)), payload);
    } catch (error) {
      this.unpublished = true;
      throw error;
    }
  }

  /**
   * Resolves once Redis confirmed the subscription, or at once while Redis is
   * away: the subscription then completes on reconnect, and the resync that
   * follows fills whatever was published meanwhile.
   */
  async subscribe<T extends keyof Topics & string>(topic: T, key: string, listener: Listener<Topics[T]>): Promise<Unsubscribe> {
    const subscribed = this.subscribeChannel(this.channel(channelName(topic, key)), listener as (payload: unknown) => void);
    if (this.degradedReason === null) {
      const id = await subscribed;
      return async () => this.pubsub.unsubscribe(id);
    }
    subscribed.catch((error: unknown) => this.warnUnlessClosing(error, 'redis subscribe failed', { topic, key }));
    return async () => this.pubsub.unsubscribe(await subscribed);
  }

  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.redis.close();
  }

  private channel(name: string): string {
    return `${this.namespace}:${name}`;
  }

  /** A command cut short by our own close() is no news. */
  private warnUnlessClosing(error: unknown, message: string, context: Record<string, unknown> = {}): void {
    if (!this.closing) this.logger.warn({ ...context, err: error }, message);
  }

  private degrade(reason: string): void {
    // Our own close() drops the links on purpose: nothing to warn about.
    if (this.closing) return;
    if (this.degradedReason === null) this.logger.warn({ reason }, 'live delivery degraded; missed events will be re-read from the database');
    this.degradedReason ??= reason;
  }

  /** Resolves once events flow (or after `timeoutMs`, whichever is first); for a start that reports ready truthfully. */
  whenLive(timeoutMs: number): Promise<void> {
    if (this.degradedReason === null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.liveWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private recover(): void {
    if (this.degradedReason === null) return;
    this.degradedReason = null;
    for (const wake of this.liveWaiters.splice(0)) wake();
    this.logger.info('live delivery restored; resyncing from the database');
    this.resync();
  }

  private resync(): void {
    for (const listener of this.resyncListeners) listener();
  }

  /** After a failed publish, once Redis takes commands again: every instance re-reads what it may have missed. */
  private requestClusterResync(): void {
    if (!this.unpublished) return;
    this.unpublished = false;
    this.pubsub.publish(this.channel(RESYNC_CHANNEL), this.livenessChannel).catch(() => {
      this.unpublished = true;
    });
  }

  /**
   * RedisPubSub.subscribe, without its stray rejection: while a channel's SUBSCRIBE
   * is pending it keeps a deferred that it rejects if the subscribe fails (when we
   * close the connection under it) and that nobody else listens to, which would
   * surface as an unhandled rejection. The promise returned here still rejects.
   */
  private subscribeChannel(channel: string, listener: (payload: unknown) => void): Promise<number> {
    const subscribed = this.pubsub.subscribe(channel, listener);
    (this.pubsub as unknown as PendingSubscriptions).subsPendingRefsMap.get(channel)?.pending.catch(() => {});
    return subscribed;
  }

  /** Sends ourselves a ping through Redis; its arrival proves the subscriber link (see startLiveness). */
  private ping(): void {
    if (this.redis.command.status !== 'ready') return;
    this.requestClusterResync();
    this.pubsub.publish(this.livenessChannel, Date.now()).catch(() => {});
  }

  private startLiveness(): void {
    this.subscribeChannel(this.livenessChannel, () => {
      this.lastProof = Date.now();
      this.recover();
    })
      // The first proof, as soon as a ping can be heard (one sent earlier would find no listener yet).
      .then(() => this.ping())
      .catch((error: unknown) => this.warnUnlessClosing(error, 'redis liveness subscription failed'));
    this.subscribeChannel(this.channel(RESYNC_CHANNEL), () => this.resync()).catch((error: unknown) => this.warnUnlessClosing(error, 'redis resync subscription failed'));
    let lastTick = Date.now();
    this.livenessTimer = setInterval(() => {
      // Silence while this process's own event loop was held up proves nothing either: the
      // answers to our pings sit unread in the socket until after this timer has run. A tick
      // that late gives the link a full deadline again (a stall of 1 s or more, such as a
      // synchronous SQLite busy wait, dropped a healthy link: see docs/reliability.md).
      const now = Date.now();
      if (now - lastTick > LIVENESS_DEADLINE_MS - LIVENESS_INTERVAL_MS) this.lastProof = now;
      lastTick = now;
      this.ping();
      const silentFor = now - this.lastProof;
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
