import type { Message } from '../../messages/message.js';
import type { PresenceShare } from '../../presence/presence.js';

/**
 * Every topic and its payload, in one place. A channel is a topic plus a key
 * (a room id): one channel per room, so an instance hears only rooms it serves.
 */
export interface Topics {
  /** A committed message, published after its transaction. */
  'room.message': Message;
  /** One instance's users in a room changed (see presence/). */
  'room.presence': PresenceShare;
}

export type Topic = keyof Topics;
export type Listener<T extends Topic> = (payload: Topics[T]) => void;
export type Unsubscribe = () => Promise<void>;

/**
 * The seam between delivery and transport of events. The in-process and Redis
 * implementations sit behind it; listeners run in publish order per channel.
 */
export interface PubSub {
  publish<T extends Topic>(topic: T, key: string, payload: Topics[T]): Promise<void>;
  subscribe<T extends Topic>(topic: T, key: string, listener: Listener<T>): Promise<Unsubscribe>;
  /**
   * Called after the link that carries events was lost and came back: events
   * published meanwhile may be lost, so subscribers re-read what they missed.
   */
  onResync(listener: () => void): void;
  close(): Promise<void>;
}

export function channelName(topic: Topic, key: string): string {
  return `${topic}:${key}`;
}
