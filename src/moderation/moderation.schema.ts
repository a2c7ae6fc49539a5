import { UserRef } from '../identity/identity.schema.js';
import { requireUser } from '../identity/viewer.js';
import { MessageRef } from '../messages/message.schema.js';
import { RoomRef } from '../rooms/room.schema.js';
import { builder } from '../schema/builder.js';
import { streamOf } from '../schema/streams.js';
import type { Report } from './report.js';

const ReportRef = builder.objectRef<Report>('Report').implement({
  description: "A user's report of a message, for the operators.",
  fields: (t) => ({
    id: t.exposeID('id'),
    message: t.field({ type: MessageRef, resolve: (report) => report.message }),
    reporter: t.field({ type: UserRef, resolve: (report) => report.reporter }),
    reason: t.exposeString('reason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.objectField(RoomRef, 'slowModeSeconds', (t) =>
  t.int({
    description: 'Seconds a user must wait between two of their messages in this room; 0: no slow mode.',
    resolve: (room, _args, ctx) => ctx.services.slowMode.secondsOf(room.id),
  }),
);

builder.mutationField('setSlowMode', (t) =>
  t.field({
    type: RoomRef,
    description: [
      'For operators (admin bearer): slow mode for a room. Each user may then send at',
      'most one message per `seconds` there (0 turns it off, at most 3600); a send',
      'too early is RATE_LIMITED with extensions.retryAfterSeconds, and stores nothing.',
    ].join('\n'),
    args: { roomId: t.arg.id({ required: true }), seconds: t.arg.int({ required: true }) },
    resolve: (_root, args, ctx) => {
      ctx.services.operators.require(ctx.isOperator());
      return ctx.services.slowMode.set(String(args.roomId), args.seconds);
    },
  }),
);

builder.mutationField('banUser', (t) =>
  t.boolean({
    description: [
      'For operators (admin bearer): the user may not send messages, create rooms,',
      'open direct rooms, type or wait for a match, for `seconds` (omitted: until',
      'unbanned); each such attempt is FORBIDDEN and stores nothing. Their open',
      'sockets stay, so they still read. Returns true.',
    ].join('\n'),
    args: { userId: t.arg.id({ required: true }), seconds: t.arg.int() },
    resolve: async (_root, args, ctx) => {
      ctx.services.operators.require(ctx.isOperator());
      await ctx.services.bans.ban(String(args.userId), args.seconds);
      return true;
    },
  }),
);

builder.mutationField('unbanUser', (t) =>
  t.boolean({
    description: 'For operators (admin bearer): lifts a ban. Returns true.',
    args: { userId: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      ctx.services.operators.require(ctx.isOperator());
      await ctx.services.bans.unban(String(args.userId));
      return true;
    },
  }),
);

builder.mutationField('reportMessage', (t) =>
  t.boolean({
    description: [
      "Any user with access to the message's room reports it to the operators;",
      'reason at most 500 characters. Reporting the same message again changes',
      'nothing. Returns true.',
    ].join('\n'),
    args: { messageId: t.arg.id({ required: true }), reason: t.arg.string() },
    resolve: async (_root, args, ctx) => {
      const reporter = requireUser(await ctx.viewer());
      await ctx.services.reports.report(reporter, String(args.messageId), args.reason);
      return true;
    },
  }),
);

builder.subscriptionField('reports', (t) =>
  t.field({
    type: ReportRef,
    description: 'For operators (admin bearer in connection_init or the SSE request): reports as they are made.',
    subscribe: (_root, _args, ctx) => {
      ctx.services.operators.require(ctx.isOperator());
      return streamOf<Report>(ctx, async (push) => {
        const stop = await ctx.services.reports.watch(push);
        return () => void stop();
      }, 1_000);
    },
    resolve: (report) => report,
  }),
);
