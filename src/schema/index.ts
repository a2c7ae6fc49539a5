import { lexicographicSortSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
// Each domain module registers its types, queries, mutations and subscriptions.
import './common.js';
import '../identity/identity.schema.js';
import '../rooms/room.schema.js';
import '../rooms/direct-rooms.schema.js';
import '../messages/message.schema.js';
import '../presence/presence.schema.js';
import '../moderation/moderation.schema.js';
import '../notices/notice.schema.js';
import '../presence/participants.schema.js';
import '../typing/typing.schema.js';
import '../matching/matching.schema.js';

let schema: GraphQLSchema | null = null;

/** The executable schema; built once, sorted so the printed SDL is stable. */
export function buildSchema(): GraphQLSchema {
  schema ??= lexicographicSortSchema(builder.toSchema());
  return schema;
}
