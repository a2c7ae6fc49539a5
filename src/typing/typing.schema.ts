import { UserRef } from '../identity/identity.schema.js';
import { requireUser } from '../identity/viewer.js';
import { builder } from '../schema/builder.js';
import { streamOf } from '../schema/streams.js';
import { usersOf, type TypingUpdate } from './typing.js';

/** Updates are coalesced, so a subscriber this far behind is not reading at all. */
const TYPING_QUEUE_LIMIT = 100;

const TypingUpdateRef = builder.objectRef<TypingUpdate>('TypingUpdate').implement({
  description: 'Who is typing in a room now, the subscriber excluded.',
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    users: t.field({ type: [UserRef], resolve: (update) => update.users }),
  }),
});

builder.mutationField('setTyping', (t) =>
  t.boolean({
    description: [
      'The caller is typing in the room (true) or has stopped (false). Typing lapses',
      "by itself 5 s after the caller's last setTyping(true). Needs a token and",
      'access to the room. Returns true.',
    ].join('\n'),
    args: { roomId: t.arg.id({ required: true }), typing: t.arg.boolean({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const user = requireUser(await ctx.viewer());
      const roomId = String(args.roomId);
      await ctx.services.rooms.requireAccess(user, roomId);
      await ctx.services.typing.set(user, roomId, args.typing);
      return true;
    },
  }),
);

builder.subscriptionField('typing', (t) =>
  t.field({
    type: TypingUpdateRef,
    description: ['Who is typing in the room now, the subscriber excluded: the current set', 'first, then the set on every change.'].join('\n'),
    args: { roomId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const user = requireUser(await ctx.viewer());
      const roomId = String(args.roomId);
      await ctx.services.rooms.requireAccess(user, roomId);
      // The general path: each subscriber's update is executed for it alone, every user it lists rendered again.
      const listen = (push: (update: TypingUpdate) => void) =>
        ctx.services.typing.watch(roomId, user.id, (view) => {
          const users = usersOf(view);
          push({ roomId, users });
          return users.length;
        });
      return streamOf<TypingUpdate>(ctx, listen, TYPING_QUEUE_LIMIT);
    },
    resolve: (update) => update,
  }),
);
