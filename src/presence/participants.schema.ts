import { UserRef } from '../identity/identity.schema.js';
import { pageSize } from '../paging.js';
import { RoomRef } from '../rooms/room.schema.js';
import { builder } from '../schema/builder.js';

const PARTICIPANTS_DEFAULT = 50;
const PARTICIPANTS_MAX = 100;

builder.objectField(RoomRef, 'participants', (t) =>
  t.field({
    type: [UserRef],
    description: [
      'Who is here now: the distinct users that participantCount counts, across every',
      'server instance; at most `first` (default 50, at most 100), in no fixed order.',
    ].join('\n'),
    args: { first: t.arg.int() },
    resolve: async (room, args, ctx) => {
      // Access first: someone who may not see the room learns nothing from its arguments either.
      ctx.services.rooms.checkAccess((await ctx.viewer()).user, room);
      const first = pageSize('first', args.first, PARTICIPANTS_DEFAULT, PARTICIPANTS_MAX);
      const ids = await ctx.services.presence.participantIds(room.id, first);
      return ctx.services.identity.findMany(ids);
    },
  }),
);
