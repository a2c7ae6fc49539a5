import type { Plugin } from 'graphql-yoga';
import { requireUser } from '../../identity/viewer.js';
import type { RoomService } from '../../rooms/room.service.js';
import type { Context } from '../../schema/context.js';
import type { TypingService } from '../../typing/typing.service.js';
import type { ErrorPolicy } from '../error-policy.js';
import { fastPathPlugin } from './fast-path-plugin.js';
import { planRendering, TYPING_FIELD, type RenderPlan } from './plan.js';
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
  return fastPathPlugin<RenderPlan>(TYPING_FIELD, (args) => planRendering(args, TYPING_FIELD), async (args, plan, sink) => {
    const roomId = String(plan.values.roomId);
    const user = requireUser(await (args.contextValue as Context).viewer());
    await rooms.requireAccess(user, roomId);
    const member = new TypingMember(sink.socket, sink.subscriptionId, roomId, shapes.acquire(plan.shapeKey, args), maxBufferedBytes);
    try {
      // The current set goes out from watch(), straight to the socket, before graphql-ws holds the
      // subscription: the client sent the subscribe for this id, so a `next` for it is what it expects.
      member.onEnd(await typing.watch(roomId, user.id, (view) => member.deliver(view)));
    } catch (error) {
      void member.return();
      throw error;
    }
    return member;
  });
}
