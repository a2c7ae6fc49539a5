/**
 * Topics and their payloads, as the application declares them (src/topics.ts).
 * A channel is a topic plus a key (a room id, say): one channel per key, so an
 * instance hears only what it serves. Payloads are plain JSON: they cross Redis as they are.
 */
export type TopicMap = Record<string, unknown>;

export type Listener<P> = (payload: P) => void;
/** Which channels a resync concerns (on Redis Cluster, those of the shard that came back); absent: all. */
export type ResyncScope = (topic: string, key: string) => boolean;
export type Unsubscribe = () => Promise<void>;

/**
 * The seam between delivery and transport of events. The in-process and Redis
 * implementations sit behind it; listeners run in publish order per channel.
 */
export interface PubSub<Topics extends TopicMap> {
  publish<T extends keyof Topics & string>(topic: T, key: string, payload: Topics[T]): Promise<void>;
  subscribe<T extends keyof Topics & string>(topic: T, key: string, listener: Listener<Topics[T]>): Promise<Unsubscribe>;
  /**
   * Called after the link that carries events was lost and came back: events
   * published meanwhile may be lost, so subscribers re-read what they missed.
   * With a scope, only the channels it accepts were affected (one shard's); a
   * listener may ignore it and re-read everything.
   */
  onResync(listener: (scope?: ResyncScope) => void): void;
  close(): Promise<void>;
}

export function channelName(topic: string, key: string): string {
  return `${topic}:${key}`;
}
