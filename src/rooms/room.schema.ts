import { UserRef } from '../identity/identity.schema.js';
import { requireUser } from '../identity/viewer.js';
import { builder } from '../schema/builder.js';
import { connectionOf } from '../schema/common.js';
import type { Room } from './room.js';

const RoomKindRef = builder.enumType('RoomKind', {
  description: 'PUBLIC: listed, open to everyone. DIRECT: exactly two members, invisible to everyone else.',
  values: ['PUBLIC', 'DIRECT'] as const,
});

export const RoomRef = builder.objectRef<Room>('Room').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    kind: t.field({ type: RoomKindRef, resolve: (room) => room.kind }),
    // A Room reaches only those who may see it (Query.room answers null otherwise), so its members may show.
    members: t.field({ type: [UserRef], description: 'DIRECT rooms: the two members. PUBLIC rooms: an empty list.', resolve: (room) => room.members }),
  }),
});

export const RoomConnectionRef = connectionOf('Room', RoomRef);

const CreateRoomInput = builder.inputType('CreateRoomInput', {
  fields: (t) => ({ title: t.string({ required: true }) }),
});

builder.queryField('room', (t) =>
  t.field({
    type: RoomRef,
    nullable: true,
    description: 'The room; null when there is none, and for a DIRECT room the caller is not a member of',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => ctx.services.rooms.findVisible((await ctx.viewer()).user, String(args.id)),
  }),
);

builder.queryField('rooms', (t) =>
  t.field({
    type: RoomConnectionRef,
    description: "Public rooms; a room named 'lobby' exists on every fresh start",
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: (_root, args, ctx) => ctx.services.rooms.list(args),
  }),
);

builder.mutationField('createRoom', (t) =>
  t.field({
    type: RoomRef,
    args: { input: t.arg({ type: CreateRoomInput, required: true }) },
    description: 'A new public room. Needs a token, so every room has someone behind it.',
    resolve: async (_root, args, ctx) => {
      requireUser(await ctx.viewer());
      return ctx.services.rooms.create(args.input);
    },
  }),
);
