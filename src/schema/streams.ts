import { PushQueue } from '../infrastructure/streams/push-queue.js';
import type { Context } from './context.js';

/**
 * The event stream of a subscription resolver on the general path, so resolvers
 * stay thin: `start` begins pushing events and returns what releases them. The
 * stream is tracked (a stopping server ends it), bounded (`limit` unread events
 * end it with an error), and releases whatever `start` took exactly once,
 * whether it ends before, during or after `start`.
 */
export async function streamOf<T>(
  ctx: Context,
  start: (push: (event: T) => void) => Promise<() => void> | (() => void),
  limit?: number,
): Promise<PushQueue<T>> {
  const queue = ctx.services.openStreams.track(new PushQueue<T>(limit));
  try {
    // Ended while starting (the client left, the server stops): onEnd releases at once.
    queue.onEnd(await start((event) => queue.push(event)));
  } catch (error) {
    void queue.return();
    throw error;
  }
  return queue;
}
