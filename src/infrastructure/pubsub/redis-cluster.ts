import { randomUUID } from 'node:crypto';
import type { Cluster } from 'ioredis';
import type { Logger } from '../../logger.js';
import type { RedisClusterConnections } from '../redis/cluster-connections.js';
import { HASH_SLOTS, hashSlot } from '../redis/hash-slot.js';
import { channelName, type Listener, type PubSub, type ResyncScope, type TopicMap, type Unsubscribe } from './pubsub.js';

/** How often each shard's subscriber link proves it still carries messages, and how late a proof may be. */
const LIVENESS_INTERVAL_MS = 500;
const LIVENESS_DEADLINE_MS = 1_500;
/** Every instance listens here for "events on these slots may have been lost: re-read from the database". */
const RESYNC_CHANNEL = 'cluster:resync';

/** One shard's liveness probe: a channel of this process whose slot that shard's master owns. */
interface Probe {
  channel: string;
  slot: number;
  /** The master (host:port) that owned the slot when the probe was chosen. */
  master: string;
  lastProof: number;
  /** A ping was published and the shard counted no subscriber for it: our subscription there is gone. */
  unheard: boolean;
  /** The slots this shard held when its link failed; re-read once the probe is heard again. null: live. */
  lostSlots: Set<number> | null;
  /** When lostSlots was set. */
  lostAt: number;
  /** Proven at least once since it was chosen. */
  proven: boolean;
}

/** One channel this process listens to, subscribed once however many local listeners. */
interface Channel {
  listeners: Set<(payload: unknown) => void>;
  /** Resolves once the shard confirmed SSUBSCRIBE; rejects if the command failed. */
  subscribed: Promise<void>;
  /** false after SSUBSCRIBE failed: retried once the channel's shard is live (see retryUnconfirmed). */
  confirmed: boolean | null;
}

/** A shard that takes publishes but has not delivered our pings for this long gets the sharded link re-dialled. */
const DEAF_RECONNECT_MS = 5_000;

/**
 * The pub/sub shared by every instance on a Redis Cluster, with sharded pub/sub:
 * each channel is SPUBLISHed to, and SSUBSCRIBEd on, the one shard that owns its
 * hash slot, instead of PUBLISH's broadcast over every node of the cluster bus.
 * graphql-redis-subscriptions (2.7) only issues SUBSCRIBE/PSUBSCRIBE/PUBLISH, so
 * this speaks to ioredis's Cluster (`shardedSubscribers`) directly; the
 * single-Redis adapter (redis.ts) stays on graphql-redis-subscriptions.
 *
 * As there, what is published while a link is down is lost, so a link that
 * comes back asks subscribers to re-read from the database; here it happens per
 * shard. Each master gets a probe channel of its own that this process pings
 * every 0.5 s: a shard whose ping is late is degraded (/health says which), and
 * when its ping is heard again only the channels on the slots it held resync.
 * A publish that failed asks every instance to resync that channel's slot once
 * this instance can publish again.
 */
export class RedisClusterPubSub<Topics extends TopicMap> implements PubSub<Topics> {
  private readonly command: Cluster;
  private readonly subscriber: Cluster;
  private readonly channels = new Map<string, Channel>();
  private readonly resyncListeners: ((scope?: ResyncScope) => void)[] = [];
  private readonly liveWaiters: (() => void)[] = [];
  /** Probes by channel name; one per master once the topology is known. */
  private readonly probes = new Map<string, Probe>();
  private readonly probePrefix = `liveness:${randomUUID()}`;
  private probeCandidate = 0;
  /** Slots of publishes that failed since the last resync request went out. */
  private readonly unpublishedSlots = new Set<number>();
  /** Why the whole link is untrustworthy (a client closed, not connected yet); null when it is not. */
  private linkProblem: string | null = 'connecting to redis cluster';
  /** A whole-link problem happened: once every shard is proven again, everything resyncs. */
  private fullResyncDue = false;
  private livenessTimer: NodeJS.Timeout | null = null;
  private closing = false;

  /** @param namespace prefixes every channel: the deployment id, so deployments sharing one cluster never hear each other. */
  constructor(
    private readonly redis: RedisClusterConnections,
    private readonly namespace: string,
    private readonly logger: Logger,
  ) {
    this.command = redis.command;
    this.subscriber = redis.subscriber;
    this.subscriber.on('smessage', (channel: string, message: string) => this.dispatch(channel, message));
    // A master's sharded subscriber connection ended (its node died, a failover): its channels are deaf now.
    this.subscriber.on('-node', (_redis: unknown, nodeKey?: string) => {
      if (nodeKey === undefined) return;
      for (const probe of this.probes.values()) if (probe.master === nodeKey) this.lose(probe, 'sharded subscriber connection lost');
    });
    for (const [client, role] of [
      [this.subscriber, 'subscriber'],
      [this.command, 'command'],
    ] as const) {
      client.on('close', () => this.degradeLink(`redis cluster ${role} connection lost`));
      client.on('reconnecting', () => this.degradeLink(`redis cluster ${role} connection lost`));
    }
    this.subscribeChannel(this.channel(RESYNC_CHANNEL), (slots) => this.resyncSlots(slots)).catch((error: unknown) =>
      this.warnUnlessClosing(error, 'redis cluster resync subscription failed'),
    );
    this.livenessTimer = setInterval(() => this.tick(), LIVENESS_INTERVAL_MS);
    this.livenessTimer.unref();
    for (const client of [this.subscriber, this.command]) client.on('ready', () => this.tick());
  }

  /** null when events flow on every shard; otherwise why not (shown by /health). */
  get problem(): string | null {
    if (this.linkProblem !== null) return this.linkProblem;
    const deaf = [...this.probes.values()].filter((probe) => probe.lostSlots !== null || !probe.proven).map((probe) => probe.master);
    return deaf.length === 0 ? null : `redis cluster shard ${deaf.join(', ')} not delivering`;
  }

  async publish<T extends keyof Topics & string>(topic: T, key: string, payload: Topics[T]): Promise<void> {
    const channel = this.channel(channelName(topic, key));
    try {
      await this.command.spublish(channel, JSON.stringify(payload));
    } catch (error) {
      this.unpublishedSlots.add(hashSlot(channel));
      throw error;
    }
  }

  /**
   * Resolves once the shard confirmed the subscription, or at once while the
   * link is degraded: ioredis keeps the channel and subscribes it when the shard
   * is back, and the resync that follows fills whatever was published meanwhile.
   */
  async subscribe<T extends keyof Topics & string>(topic: T, key: string, listener: Listener<Topics[T]>): Promise<Unsubscribe> {
    const name = this.channel(channelName(topic, key));
    const entry = listener as (payload: unknown) => void;
    const subscribed = this.subscribeChannel(name, entry);
    const unsubscribe = async () => this.unsubscribeChannel(name, entry);
    if (this.problem === null) {
      try {
        await subscribed;
      } catch (error) {
        await unsubscribe();
        throw error;
      }
      return unsubscribe;
    }
    subscribed.catch((error: unknown) => this.warnUnlessClosing(error, 'redis cluster subscribe failed', { topic, key }));
    return unsubscribe;
  }

  onResync(listener: (scope?: ResyncScope) => void): void {
    this.resyncListeners.push(listener);
  }

  /** Resolves once events flow on every shard (or after `timeoutMs`, whichever is first). */
  whenLive(timeoutMs: number): Promise<void> {
    if (this.problem === null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.liveWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.livenessTimer) clearInterval(this.livenessTimer);
    this.redis.close();
  }

  private channel(name: string): string {
    return `${this.namespace}:${name}`;
  }

  private subscribeChannel(name: string, listener: (payload: unknown) => void): Promise<void> {
    const existing = this.channels.get(name);
    if (existing) {
      existing.listeners.add(listener);
      // A failed SSUBSCRIBE is retried (and followed by a resync) by retryUnconfirmed: nothing to wait for.
      return existing.confirmed === false ? Promise.resolve() : existing.subscribed;
    }
    // One SSUBSCRIBE per channel; its SUNSUBSCRIBE, if any, was sent before on the same shard link.
    const subscribed = this.subscriber.ssubscribe(name).then(() => {});
    const channel: Channel = { listeners: new Set([listener]), subscribed, confirmed: null };
    subscribed.then(
      () => (channel.confirmed = true),
      () => (channel.confirmed = false),
    );
    this.channels.set(name, channel);
    return subscribed;
  }

  private async unsubscribeChannel(name: string, listener: (payload: unknown) => void): Promise<void> {
    const channel = this.channels.get(name);
    if (!channel || !channel.listeners.delete(listener) || channel.listeners.size > 0) return;
    this.channels.delete(name);
    await this.subscriber.sunsubscribe(name).catch((error: unknown) => this.warnUnlessClosing(error, 'redis cluster unsubscribe failed', { channel: name }));
  }

  private dispatch(name: string, message: string): void {
    const probe = this.probes.get(name);
    if (probe) return this.proven(probe);
    const channel = this.channels.get(name);
    if (!channel) return;
    let payload: unknown;
    try {
      payload = JSON.parse(message);
    } catch {
      this.logger.warn({ channel: name }, 'redis cluster: unreadable message dropped');
      return;
    }
    for (const listener of channel.listeners) {
      try {
        listener(payload);
      } catch (error) {
        // One broken listener must not starve the others of the event.
        this.logger.error({ err: error }, 'pub/sub listener failed');
      }
    }
  }

  /** A probe's ping came back: its shard delivers. */
  private proven(probe: Probe): void {
    probe.lastProof = Date.now();
    probe.unheard = false;
    probe.proven = true;
    const lost = probe.lostSlots;
    probe.lostSlots = null;
    if (lost) {
      this.logger.info({ shard: probe.master, slots: lost.size }, 'redis cluster shard delivering again; resyncing its channels from the database');
      this.resync((topic, key) => lost.has(hashSlot(this.channel(channelName(topic, key)))));
    }
    this.maybeRecovered();
  }

  /** The probe's shard lost our subscription: degraded until its ping is heard again. */
  private lose(probe: Probe, reason: string): void {
    if (this.closing || probe.lostSlots !== null) return;
    probe.lostSlots = this.slotsOf(probe.master);
    probe.lostAt = Date.now();
    this.logger.warn({ shard: probe.master, reason }, 'redis cluster shard stopped delivering; its channels will be re-read from the database');
  }

  private degradeLink(reason: string): void {
    if (this.closing) return;
    if (this.linkProblem === null) this.logger.warn({ reason }, 'live delivery degraded; missed events will be re-read from the database');
    this.linkProblem ??= reason;
    this.fullResyncDue = true;
    // Every shard must prove itself again before the link counts as live.
    for (const probe of this.probes.values()) probe.proven = false;
  }

  /** Once every shard's probe was heard since the link last failed: live again. */
  private maybeRecovered(): void {
    if (this.probes.size === 0 || [...this.probes.values()].some((probe) => !probe.proven || probe.lostSlots !== null)) return;
    if (this.command.status !== 'ready' || this.subscriber.status !== 'ready') return;
    if (this.linkProblem !== null) {
      this.linkProblem = null;
      this.logger.info('live delivery restored on every redis cluster shard');
    }
    if (this.fullResyncDue) {
      this.fullResyncDue = false;
      this.resync();
    }
    if (this.problem === null) for (const wake of this.liveWaiters.splice(0)) wake();
  }

  private resync(scope?: ResyncScope): void {
    for (const listener of this.resyncListeners) listener(scope);
  }

  /** Another instance (or this one) could not publish on these slots: re-read their channels. */
  private resyncSlots(payload: unknown): void {
    const slots = new Set(Array.isArray(payload) ? payload.filter((slot): slot is number => typeof slot === 'number') : []);
    if (slots.size === 0) return this.resync();
    this.resync((topic, key) => slots.has(hashSlot(this.channel(channelName(topic, key)))));
  }

  private warnUnlessClosing(error: unknown, message: string, context: Record<string, unknown> = {}): void {
    if (!this.closing) this.logger.warn({ ...context, err: error }, message);
  }

  /** Every 0.5 s: keep one probe per master, ping each, judge the silent ones, retry failed resync requests. */
  private tick(): void {
    if (this.closing || this.command.status !== 'ready') return;
    this.updateProbes();
    this.requestClusterResync();
    this.retryUnconfirmed();
    const now = Date.now();
    for (const probe of this.probes.values()) {
      this.ping(probe);
      if (now - probe.lastProof > LIVENESS_DEADLINE_MS) this.lose(probe, `no ping heard for ${now - probe.lastProof} ms`);
      if (probe.lostSlots !== null && probe.unheard && now - probe.lostAt > DEAF_RECONNECT_MS && this.subscriber.status === 'ready') {
        // The shard takes publishes but has counted no subscriber of ours for seconds, and ioredis
        // has not resubscribed: the sharded link is deaf. Re-dialling resubscribes every channel it keeps.
        this.logger.warn({ shard: probe.master }, 'redis cluster shard counts no subscriber of ours; reconnecting the sharded subscribers');
        probe.unheard = false;
        probe.lostAt = now;
        this.subscriber.disconnect(true);
      }
    }
  }

  /**
   * A channel whose SSUBSCRIBE failed while its shard looked live (ioredis had no
   * subscriber for the slot yet, say) is subscribed again once that shard's probe
   * is heard; then it re-reads what it may have missed.
   */
  private retryUnconfirmed(): void {
    if (this.subscriber.status !== 'ready') return;
    for (const [name, channel] of this.channels) {
      if (channel.confirmed !== false || !this.shardLive(hashSlot(name))) continue;
      channel.confirmed = null;
      this.subscriber.ssubscribe(name).then(
        () => {
          channel.confirmed = true;
          this.resync((topic, key) => this.channel(channelName(topic, key)) === name);
        },
        () => (channel.confirmed = false),
      );
    }
  }

  /** Sends the probe's shard a ping through the command client; SPUBLISH answers how many subscribers got it. */
  private ping(probe: Probe): void {
    this.command.spublish(probe.channel, String(Date.now())).then(
      (receivers) => {
        if (Number(receivers) !== 0 || this.probes.get(probe.channel) !== probe) return;
        probe.unheard = true;
        // Heard before, unheard now: our subscription on that shard is gone (a new probe's SSUBSCRIBE may still be on its way).
        if (probe.proven) this.lose(probe, 'the shard counts no subscriber of ours');
      },
      () => {
        // The shard is away; its probe stays silent and the deadline says so.
      },
    );
  }

  /**
   * One probe per master of the current topology (ioredis keeps the slot map up
   * to date): a master without one gets a channel that hashes to one of its slots;
   * a probe whose slot moved to a master that already has one is dropped.
   */
  private updateProbes(): void {
    const masters = this.masters();
    if (masters.size === 0) return;
    const covered = new Set<string>();
    for (const probe of [...this.probes.values()]) {
      const owner = this.ownerOf(probe.slot);
      if (owner === undefined || covered.has(owner)) {
        this.dropProbe(probe);
        continue;
      }
      covered.add(owner);
      probe.master = owner;
    }
    for (const master of masters) {
      if (covered.has(master)) continue;
      const channel = this.channelOwnedBy(master);
      if (channel === null) continue;
      const probe: Probe = { channel, slot: hashSlot(channel), master, lastProof: Date.now(), unheard: false, lostSlots: null, lostAt: 0, proven: false };
      this.probes.set(channel, probe);
      this.subscriber.ssubscribe(channel).catch((error: unknown) => this.warnUnlessClosing(error, 'redis cluster liveness subscription failed', { shard: master }));
    }
  }

  private dropProbe(probe: Probe): void {
    this.probes.delete(probe.channel);
    // It may have been silent for a reason: whoever owns those slots now re-reads them once live.
    if (probe.lostSlots !== null) this.fullResyncDue = true;
    this.subscriber.sunsubscribe(probe.channel).catch(() => {});
  }

  /** A probe channel whose slot `master` owns: tries candidates in turn (three masters take a handful). */
  private channelOwnedBy(master: string): string | null {
    for (let tries = 0; tries < 4 * HASH_SLOTS; tries++) {
      const channel = `${this.probePrefix}:{${this.probeCandidate++}}`;
      if (this.ownerOf(hashSlot(channel)) === master) return channel;
    }
    return null;
  }

  /** The probe of the shard that owns `slot` has been heard since its last failure. */
  private shardLive(slot: number): boolean {
    const owner = this.ownerOf(slot);
    const probe = [...this.probes.values()].find((p) => p.master === owner);
    return probe !== undefined && probe.proven && probe.lostSlots === null;
  }

  private masters(): Set<string> {
    const masters = new Set<string>();
    for (const owners of this.command.slots) if (owners?.[0]) masters.add(owners[0]);
    return masters;
  }

  private ownerOf(slot: number): string | undefined {
    return this.command.slots[slot]?.[0];
  }

  private slotsOf(master: string): Set<number> {
    const slots = new Set<number>();
    this.command.slots.forEach((owners, slot) => {
      if (owners?.[0] === master) slots.add(slot);
    });
    return slots;
  }

  /** After failed publishes, once the cluster takes commands: every instance re-reads those slots' channels. */
  private requestClusterResync(): void {
    if (this.unpublishedSlots.size === 0) return;
    // Only slots whose shard is back: a re-read while it is still away would find the gap still open.
    const slots = [...this.unpublishedSlots].filter((slot) => this.shardLive(slot));
    if (slots.length === 0) return;
    for (const slot of slots) this.unpublishedSlots.delete(slot);
    this.command.spublish(this.channel(RESYNC_CHANNEL), JSON.stringify(slots)).catch(() => {
      for (const slot of slots) this.unpublishedSlots.add(slot);
    });
  }
}
