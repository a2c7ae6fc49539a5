import { locatedError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import { requireUser } from '../../identity/viewer.js';
import { HeldSubscription } from '../../infrastructure/streams/held-subscription.js';
import type { FeedService } from '../../messages/feed.service.js';
import type { Context } from '../../schema/context.js';
import { SELF_RENDERED, type ErrorPolicy } from '../error-policy.js';
import { FANOUT_FIELD, planFanout, type FanoutPlan } from './plan.js';
import { ShapeRegistry } from './shapes.js';
import { SocketMember } from './socket-member.js';

/** Where a WebSocket subscription's events may go directly: its socket, behind its id. */
export interface FanoutSink {
  socket: WebSocket;
  subscriptionId: string;
}

/** What the WebSocket transport puts in an operation's context so the fast path may take it. */
export interface FanoutContext {
  fanoutSink?: FanoutSink;
}

export interface MessageFanoutOptions {
  feeds: FeedService;
  errorPolicy: ErrorPolicy;
  /** A socket whose unsent bytes stay above this is closed 4008 "slow consumer". */
  maxBufferedBytes: number;
}

/**
 * The fan-out fast path for `messageAdded` over WebSocket, as a pipeline
 * plugin: it plans the operation in the subscribe phase (after parsing,
 * validation and every plugin before it) and, when every selected field is
 * render-safe, starts it on the socket instead of executing it per subscriber.
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

  async function start(args: ExecutionArgs, plan: FanoutPlan, sink: FanoutSink): Promise<HeldSubscription | ExecutionResult> {
    const held = new HeldSubscription();
    try {
      const context = args.contextValue as Context;
      const user = requireUser(await context.viewer());
      const request = await feeds.check(user, plan.roomId, plan.after);
      const shape = shapes.acquire(plan.shapeKey, args);
      held.onEnd(() => shapes.release(shape));
      held.onEnd(await feeds.join(user, request, new SocketMember(sink.socket, sink.subscriptionId, shape, maxBufferedBytes)));
    } catch (error) {
      void held.return();
      // As graphql-js reports a failing subscribe resolver; the error policy codes or masks it.
      return { errors: [locatedError(error, undefined, [FANOUT_FIELD])] };
    }
    // graphql-ws keeps the execution args as long as the subscription lives, and the
    // fast path no longer needs them (the shape has its own copy): drop what they hold.
    args.rootValue = args.contextValue = args.variableValues = undefined;
    return held;
  }

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const sink = (args.contextValue as FanoutContext).fanoutSink;
      if (!sink) return;
      const plan = planFanout(args);
      if (plan) setSubscribeFn(Object.assign((subscribeArgs: ExecutionArgs) => start(subscribeArgs, plan, sink), { [SELF_RENDERED]: true }));
    },
  };
}
