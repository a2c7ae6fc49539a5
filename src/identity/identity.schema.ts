import { builder } from '../schema/builder.js';
import type { AuthPayload } from './identity.service.js';
import type { User } from './user.js';
import { requireUser } from './viewer.js';

export const UserRef = builder.objectRef<User>('User').implement({
  description: "An anonymous participant. handle = nickname + '#' + tag, unique on the server.",
  fields: (t) => ({
    id: t.exposeID('id'),
    nickname: t.exposeString('nickname'),
    tag: t.exposeString('tag'),
    handle: t.exposeString('handle'),
  }),
});

const AuthPayloadRef = builder.objectRef<AuthPayload>('AuthPayload').implement({
  fields: (t) => ({
    token: t.exposeString('token', {
      description: "JWT to send as 'Authorization: Bearer <token>' over HTTP and in connection_init over WebSocket",
    }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    user: t.field({ type: UserRef, resolve: (p) => p.user }),
  }),
});

builder.queryField('me', (t) =>
  t.field({
    type: UserRef,
    nullable: true,
    description: 'The caller, from the bearer token; null without a valid token',
    resolve: async (_root, _args, ctx) => (await ctx.viewer()).user,
  }),
);

builder.mutationField('issueToken', (t) =>
  t.field({
    type: AuthPayloadRef,
    description: [
      'Anonymous identity. No arguments: a new user with a random nickname and tag.',
      'nickname: that nickname with a free tag. previousToken: a token this server',
      'signed, even an expired one within the refresh window, brings back the same',
      'user (same id, nickname, tag); an invalid one gets a fresh user, never the claimed one.',
    ].join('\n'),
    args: {
      nickname: t.arg.string(),
      previousToken: t.arg.string(),
    },
    resolve: (_root, args, ctx) => ctx.services.identity.issueToken(args),
  }),
);

builder.mutationField('renewToken', (t) =>
  t.field({
    type: AuthPayloadRef,
    description: [
      'A fresh token for the caller (same user), from the caller\'s valid token.',
      'Sent over a WebSocket connection, it also moves that connection\'s expiry to',
      'the new token\'s, so the connection is not closed when the old token expires.',
    ].join('\n'),
    resolve: async (_root, _args, ctx) => {
      const payload = ctx.services.identity.renewToken(requireUser(await ctx.viewer()));
      // Over graphql-ws the socket now lives as long as the new token, subscriptions and all.
      ctx.connection?.adoptViewer({ user: payload.user, problem: null, expiresAt: payload.expiresAt.getTime() });
      return payload;
    },
  }),
);
