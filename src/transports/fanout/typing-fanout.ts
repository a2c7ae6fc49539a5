import { locatedError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { requireUser } from '../../identity/viewer.js';
import { HeldSubscription } from '../../infrastructure/streams/held-subscription.js';
import type { RoomService } from '../../rooms/room.service.js';
import type { Context } from '../../schema/context.js';
import type { TypingService } from '../../typing/typing.service.js';
import { SELF_RENDERED, type ErrorPolicy } from '../error-policy.js';
import type { FanoutContext, FanoutSink } from './message-fanout.js';
import { planRendering, TYPING_FIELD } from './plan.js';
import { ShapeRegistry } from './shapes.js';
import { TypingMember } from './typing-member.js';

export interface TypingFanoutOptions {
  typing: TypingService;
  rooms: RoomService;
  errorPolicy: ErrorPolicy;
  /** A socket whose unsent bytes stay above this is closed 4008 "slow consumer". */
  maxBufferedBytes: number;
}

/**
 * The fast path for `typing(roomId)` over WebSocket, as a pipeline plugin, the
 * way useMessageFanout serves `messageAdded`: a render-safe operation is
 * started on the socket instead of being executed per subscriber and update.
 *
 * On the general path every subscriber's update is executed and serialised for
 * it alone, so a room where hundreds watch hundreds type renders each typist
 * hundreds of times per update. Here an update is rendered once per shape, and
 * each subscriber gets the shared bytes without its own entry
 * (TypingRendering): the work per update is one rendering and a few writes,
 * and the room's rendering budget (TypingService) no longer holds its updates
 * back. Access is the general path's (RoomService.requireAccess, before any
 * event), and the bytes are the general path's, byte for byte.
 */
export function useTypingFanout(options: TypingFanoutOptions): Plugin {
  const { typing, rooms, errorPolicy, maxBufferedBytes } = options;
  const shapes = new ShapeRegistry((errors) => errors.map((error) => errorPolicy.forClient(error).toJSON()));

  async function start(args: ExecutionArgs, roomId: string, shapeKey: string, sink: FanoutSink): Promise<HeldSubscription | ExecutionResult> {
    const held = new HeldSubscription();
    try {
      const user = requireUser(await (args.contextValue as Context).viewer());
      await rooms.requireAccess(user, roomId);
      const shape = shapes.acquire(shapeKey, args);
      held.onEnd(() => shapes.release(shape));
      const member = new TypingMember(sink.socket, sink.subscriptionId, roomId, shape, maxBufferedBytes);
      // The current set goes out from watch(), straight to the socket, before graphql-ws holds the
      // subscription: the client sent the subscribe for this id, so a `next` for it is what it expects.
      held.onEnd(await typing.watch(roomId, user.id, (view) => member.deliver(view)));
    } catch (error) {
      void held.return();
      return { errors: [locatedError(error, undefined, [TYPING_FIELD])] };
    }
    // As in useMessageFanout: graphql-ws keeps the args for the subscription's life, and nothing reads them again.
    args.rootValue = args.contextValue = args.variableValues = undefined;
    return held;
  }

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const sink = (args.contextValue as FanoutContext).fanoutSink;
      if (!sink) return;
      const plan = planRendering(args, TYPING_FIELD);
      if (!plan) return;
      const roomId = String(plan.values.roomId);
      setSubscribeFn(Object.assign((subscribeArgs: ExecutionArgs) => start(subscribeArgs, roomId, plan.shapeKey, sink), { [SELF_RENDERED]: true }));
    },
  };
}
