import type { PushQueue } from '../infrastructure/streams/push-queue.js';

/**
 * A subscription that ends after its first event: the stream yields the queue's
 * first value, then completes (releasing the queue). Ending it from outside
 * (the client left) ends the queue at once, even while it waits.
 */
export function firstEventOf<T>(queue: PushQueue<T>): AsyncIterableIterator<T> {
  let delivered = false;
  return {
    async next() {
      if (delivered) return queue.return();
      const result = await queue.next();
      if (!result.done) delivered = true;
      return result;
    },
    return: () => queue.return(),
    throw: (error: unknown) => queue.throw(error),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
