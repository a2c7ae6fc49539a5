import { channelName, type Listener, type PubSub, type TopicMap, type Unsubscribe } from './pubsub.js';

/** The single-instance pub/sub: a map of channels to listeners, delivered synchronously. */
export class InProcessPubSub<Topics extends TopicMap> implements PubSub<Topics> {
  private readonly channels = new Map<string, Set<(payload: unknown) => void>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  async publish<T extends keyof Topics & string>(topic: T, key: string, payload: Topics[T]): Promise<void> {
    const listeners = this.channels.get(channelName(topic, key));
    if (!listeners) return;
    for (const listener of listeners) {
      try {
        listener(payload);
      } catch (error) {
        // One broken listener must not starve the others of the event.
        this.onListenerError(error);
      }
    }
  }

  async subscribe<T extends keyof Topics & string>(topic: T, key: string, listener: Listener<Topics[T]>): Promise<Unsubscribe> {
    const name = channelName(topic, key);
    let listeners = this.channels.get(name);
    if (!listeners) this.channels.set(name, (listeners = new Set()));
    const entry = listener as (payload: unknown) => void;
    listeners.add(entry);
    return async () => {
      listeners.delete(entry);
      if (listeners.size === 0 && this.channels.get(name) === listeners) this.channels.delete(name);
    };
  }

  onResync(): void {
    // Nothing carries events but this process, so nothing can be lost in transit.
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}
