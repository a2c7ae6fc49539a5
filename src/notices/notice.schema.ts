import { requireUser } from '../identity/viewer.js';
import { builder } from '../schema/builder.js';
import { streamOf } from '../schema/streams.js';
import type { Notice } from './notice.js';

const NoticeAudienceRef = builder.enumType('NoticeAudience', {
  values: {
    EVERYONE: { description: 'sent to every connected user' },
    USER: { description: 'sent to one user: the subscriber' },
  } as const,
});

const NoticeRef = builder.objectRef<Notice>('Notice').implement({
  description: 'A notice from the operators of this server.',
  fields: (t) => ({
    id: t.exposeID('id'),
    body: t.exposeString('body'),
    audience: t.field({ type: NoticeAudienceRef, resolve: (notice) => notice.audience }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.mutationField('sendNotice', (t) =>
  t.field({
    type: NoticeRef,
    description: [
      'For operators: a notice to every connected user, or to one user (userId).',
      "Needs the server's admin token (the ADMIN_TOKEN setting) as the bearer;",
      "FORBIDDEN for any user's token, and always when ADMIN_TOKEN is not set.",
    ].join('\n'),
    args: { body: t.arg.string({ required: true }), userId: t.arg.id() },
    resolve: (_root, args, ctx) => {
      ctx.services.operators.require(ctx.isOperator());
      return ctx.services.notices.send(args.body, args.userId == null ? null : String(args.userId));
    },
  }),
);

builder.subscriptionField('notices', (t) =>
  t.field({
    type: NoticeRef,
    description: [
      'Notices for the subscriber, from now on: those sent to everyone, and those sent to them.',
      'Needs a token: the server must know who the subscriber is.',
    ].join('\n'),
    subscribe: async (_root, _args, ctx) => {
      const user = requireUser(await ctx.viewer());
      return streamOf<Notice>(ctx, (push) => ctx.services.notices.watch(user, push), 100);
    },
    resolve: (notice) => notice,
  }),
);
