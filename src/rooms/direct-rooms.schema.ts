import { requireUser } from '../identity/viewer.js';
import type { Message } from '../messages/message.js';
import { MessageRef } from '../messages/message.schema.js';
import { builder } from '../schema/builder.js';
import { streamOf } from '../schema/streams.js';
import { RoomConnectionRef, RoomRef } from './room.schema.js';

/** Unread inbox events a subscriber may fall behind by before its stream is ended with an error. */
const INBOX_BACKLOG = 1_000;

builder.queryField('directRooms', (t) =>
  t.field({
    type: RoomConnectionRef,
    description: "The caller's DIRECT rooms, the most recently active first. Needs a token.",
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_root, args, ctx) => ctx.services.rooms.listDirect(requireUser(await ctx.viewer()), args),
  }),
);

builder.mutationField('openDirectRoom', (t) =>
  t.field({
    type: RoomRef,
    description: [
      'The DIRECT room of the caller and userId: created on the first call, the same',
      'room on every later call, whichever of the two asks. Needs a token.',
      'userId = the caller: BAD_USER_INPUT. No such user: NOT_FOUND.',
    ].join('\n'),
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ctx.services.rooms.openDirectRoom(requireUser(await ctx.viewer()), String(args.userId)),
  }),
);

builder.subscriptionField('directMessageAdded', (t) =>
  t.field({
    type: MessageRef,
    description: [
      'New messages in every DIRECT room the subscriber is a member of, rooms opened',
      "after subscribing included, the subscriber's own messages excluded.",
    ].join('\n'),
    subscribe: async (_root, _args, ctx) => {
      const user = requireUser(await ctx.viewer());
      return streamOf<Message>(ctx, (push) => ctx.services.directInbox.watch(user.id, push), INBOX_BACKLOG);
    },
    resolve: (message) => message,
  }),
);
