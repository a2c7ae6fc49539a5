import { requireUser } from '../identity/viewer.js';
import { RoomRef } from '../rooms/room.schema.js';
import { builder } from '../schema/builder.js';
import { streamOf } from '../schema/streams.js';

interface ParticipantCount {
  roomId: string;
  count: number;
}

const ParticipantCountRef = builder.objectRef<ParticipantCount>('ParticipantCount').implement({
  fields: (t) => ({
    roomId: t.exposeID('roomId'),
    count: t.exposeInt('count'),
  }),
});

builder.objectField(RoomRef, 'participantCount', (t) =>
  t.int({
    description: 'Distinct users subscribed to messageAdded for this room right now, across every server instance',
    resolve: async (room, _args, ctx) => {
      ctx.services.rooms.checkAccess((await ctx.viewer()).user, room);
      return ctx.services.presence.count(room.id);
    },
  }),
);

builder.subscriptionField('participantCount', (t) =>
  t.field({
    type: ParticipantCountRef,
    description: 'The room\'s participant count now, then on every change (bursts may coalesce; the final value arrives within 1 s)',
    args: { roomId: t.arg.id({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const user = requireUser(await ctx.viewer());
      const roomId = String(args.roomId);
      await ctx.services.rooms.requireAccess(user, roomId);
      return streamOf<ParticipantCount>(ctx, (push) => ctx.services.presence.watch(roomId, (count) => push({ roomId, count })), 100);
    },
    resolve: (event) => event,
  }),
);
