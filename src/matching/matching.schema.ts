import { UserRef } from '../identity/identity.schema.js';
import { requireUser } from '../identity/viewer.js';
import { RoomRef } from '../rooms/room.schema.js';
import { builder } from '../schema/builder.js';
import { streamOf } from '../schema/streams.js';
import { firstEventOf } from './first-event.js';
import type { MatchFound } from './matching.js';

/** What a waiting subscription's one event is: its match, or why it ended without one. */
type MatchOutcome = { match: MatchFound } | { error: unknown };

const MatchFoundRef = builder.objectRef<MatchFound>('MatchFound').implement({
  description: 'One random 1:1 pairing: a new DIRECT room whose members are the subscriber and partner.',
  fields: (t) => ({
    room: t.field({ type: RoomRef, resolve: (match) => match.room }),
    partner: t.field({ type: UserRef, resolve: (match) => match.partner }),
  }),
});

builder.subscriptionField('matchFound', (t) =>
  t.field({
    type: MatchFoundRef,
    description:
      'Random 1:1 matching. Subscribing puts the subscriber in the queue for `topic` (omitted: the general queue); ' +
      'only subscribers waiting on the same topic are paired. When a partner is found, one MatchFound arrives, with a new ' +
      'DIRECT room for the two, and the subscription completes. Ending the subscription, or the connection, leaves the queue. ' +
      'Pairing is atomic across every server instance: a waiting subscription gets at most one match, and a user is never ' +
      'paired with themselves (the same user waiting twice waits for someone else).',
    args: { topic: t.arg.string() },
    subscribe: async (_root, args, ctx) => {
      const user = requireUser(await ctx.viewer());
      const outcomes = await streamOf<MatchOutcome>(
        ctx,
        (push) => ctx.services.matching.wait(user, args.topic, { found: (match) => push({ match }), failed: (error) => push({ error }) }),
        1,
      );
      return firstEventOf(outcomes);
    },
    resolve: (outcome) => {
      if ('error' in outcome) throw outcome.error;
      return outcome.match;
    },
  }),
);
