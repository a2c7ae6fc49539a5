import type { Plugin } from 'graphql-yoga';
import { requireUser } from '../../identity/viewer.js';
import type { FeedService } from '../../messages/feed.service.js';
import type { Context } from '../../schema/context.js';
import type { ErrorPolicy } from '../error-policy.js';
import { fastPathPlugin } from './fast-path-plugin.js';
import { FANOUT_FIELD, planFanout, type FanoutPlan } from './plan.js';
import { ShapeRegistry } from './shapes.js';
import { SocketMember } from './socket-member.js';

export interface MessageFanoutOptions {
  feeds: FeedService;
  errorPolicy: ErrorPolicy;
  /** A socket whose unsent bytes stay above this is closed 4008 "slow consumer". */
  maxBufferedBytes: number;
}

/**
 * The fan-out fast path for `messageAdded` over WebSocket (fastPathPlugin):
 * an operation whose every selected field is render-safe is started on the
 * socket instead of being executed per subscriber.
 *
 * A stock server executes and serialises every event once per subscriber. Here
 * subscribers whose operations render a message the same way share a Shape:
 * one execution and one JSON serialisation per message and shape, and each
 * socket gets the bytes behind its own id prefix. Authorization is the general
 * path's (FeedService.check), and the answer is byte for byte the general
 * path's, because only render-safe fields are rendered this way.
 */
export function useMessageFanout(options: MessageFanoutOptions): Plugin {
  const { feeds, errorPolicy, maxBufferedBytes } = options;
  const shapes = new ShapeRegistry((errors) => errors.map((error) => errorPolicy.forClient(error).toJSON()));
  return fastPathPlugin<FanoutPlan>(FANOUT_FIELD, planFanout, async (args, plan, sink) => {
    const user = requireUser(await (args.contextValue as Context).viewer());
    const request = await feeds.check(user, plan.roomId, plan.after);
    const member = new SocketMember(sink.socket, sink.subscriptionId, shapes.acquire(plan.shapeKey, args), maxBufferedBytes);
    try {
      await member.enter(feeds, user, request);
    } catch (error) {
      void member.return();
      throw error;
    }
    return member;
  });
}
