import { UserRef } from '../identity/identity.schema.js';
import { requireUser } from '../identity/viewer.js';
import { RoomRef } from '../rooms/room.schema.js';
import { builder } from '../schema/builder.js';
import { connectionOf } from '../schema/common.js';
import { streamOf } from '../schema/streams.js';
import type { Message } from './message.js';

export const MessageRef = builder.objectRef<Message>('Message').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    roomId: t.exposeID('roomId'),
    seq: t.exposeInt('seq', { description: "Position in the room: 1, 2, 3… with no gap. Same order as the room's history." }),
    sender: t.field({ type: UserRef, resolve: (m) => m.sender }),
    body: t.exposeString('body'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    clientMessageId: t.exposeString('clientMessageId', {
      nullable: true,
      description: "The sender's own id for this message, for idempotent retries; null if none was given",
    }),
  }),
});

const MessageConnectionRef = connectionOf('Message', MessageRef, 'Edges are oldest first within a page.');

const SendMessageInput = builder.inputType('SendMessageInput', {
  fields: (t) => ({
    roomId: t.id({ required: true }),
    body: t.string({ required: true }),
    clientMessageId: t.string({
      description: 'Retrying with the same clientMessageId (same sender, same room) returns the first message; nothing is stored twice',
    }),
  }),
});

const HISTORY_DESCRIPTION = [
  'Paged history: the newest `last` messages (default 50, at most 100) older than',
  'cursor `before` (omit for the newest). Page backwards with pageInfo.startCursor',
  'while pageInfo.hasPreviousPage.',
].join('\n');

builder.queryField('messages', (t) =>
  t.field({
    type: MessageConnectionRef,
    description: HISTORY_DESCRIPTION,
    args: { roomId: t.arg.id({ required: true }), last: t.arg.int(), before: t.arg.string() },
    resolve: async (_root, args, ctx) => ctx.services.messages.history((await ctx.viewer()).user, { ...args, roomId: String(args.roomId) }),
  }),
);

builder.objectField(RoomRef, 'messages', (t) =>
  t.field({
    type: MessageConnectionRef,
    description: 'Same paging as Query.messages',
    args: { last: t.arg.int(), before: t.arg.string() },
    resolve: async (room, args, ctx) => ctx.services.messages.history((await ctx.viewer()).user, { ...args, roomId: room.id }),
  }),
);

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: MessageRef,
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const sender = requireUser(await ctx.viewer());
      return ctx.services.messages.send(sender, { ...input, roomId: String(input.roomId) });
    },
  }),
);

builder.subscriptionField('messageAdded', (t) =>
  t.field({
    type: MessageRef,
    description: [
      "New messages of a room, in the room's order. With `after` (a Message id), every",
      'message after it is delivered first, then live ones: no gap, no duplicate.',
    ].join('\n'),
    args: { roomId: t.arg.id({ required: true }), after: t.arg.id() },
    // The general path (SSE, and WebSocket operations the fan-out fast path does not take,
    // transports/fanout/): each subscriber gets its own queue and its own execution per event.
    subscribe: async (_root, args, ctx) => {
      const user = requireUser(await ctx.viewer());
      const request = await ctx.services.feeds.check(user, String(args.roomId), args.after == null ? null : String(args.after));
      return streamOf<Message>(ctx, (push) => ctx.services.feeds.join(user, request, { lastSeq: 0, feed: null, deliver: push }));
    },
    resolve: (message) => message,
  }),
);
