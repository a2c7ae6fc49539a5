import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { DIRECT_MESSAGE_ADDED, DIRECT_ROOMS, OPEN_DIRECT_ROOM, openDirectRoom, type DirectRoom } from './helpers/direct-rooms.js';
import { errorCode, gqlOk, type GraphQLResponse } from './helpers/graphql.js';
import { startServer, type TestServer } from './helpers/server.js';
import { firstResult, TRANSPORTS, type Transport } from './helpers/transports.js';

/**
 * The access rules of DIRECT rooms (additions.graphql): only the two members
 * may read, page, send, subscribe; anyone else gets FORBIDDEN (UNAUTHENTICATED
 * without a token), before any event on a subscription; Query.room answers
 * null. Each field, over each transport that carries it.
 */

const ROOM = 'query($id: ID!) { room(id: $id) { id kind members { id } participantCount messages(last: 10) { edges { node { id body } } } } }';
const HISTORY = 'query($roomId: ID!) { messages(roomId: $roomId, last: 100) { edges { node { id seq body } } } }';
const SEND = 'mutation($roomId: ID!, $body: String!) { sendMessage(input: { roomId: $roomId, body: $body }) { id seq body } }';
const MESSAGE_ADDED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id seq body } }';
// A directive on the root field keeps the WebSocket fan-out fast path from taking it: the general path's own check.
const MESSAGE_ADDED_GENERAL = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) @include(if: true) { id seq body } }';
const PARTICIPANT_COUNT = 'subscription($roomId: ID!) { participantCount(roomId: $roomId) { roomId count } }';

const ANONYMOUS_TRANSPORTS: Transport[] = ['http', 'sse'];

function expectRefused(result: GraphQLResponse, code: 'FORBIDDEN' | 'UNAUTHENTICATED', what: string): void {
  expect(errorCode(result), `${what}: ${JSON.stringify(result)}`).toBe(code);
  expect(result.data ?? null, what).toBeNull();
}

describe('access to a direct room', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let eve: TestUser;
  let room: DirectRoom;
  let publicRoom: { id: string };
  let seed: SentMessage[];
  let publicSeed: SentMessage[];
  beforeAll(async () => {
    server = await startServer();
    [alice, bob, eve] = await Promise.all([issueToken(server.url, { nickname: 'Alice' }), issueToken(server.url, { nickname: 'Bob' }), issueToken(server.url, { nickname: 'Eve' })]);
    room = await openDirectRoom(server.url, alice.token, bob.user.id);
    publicRoom = await createRoom(server.url, eve.token);
    seed = [await sendMessage(server.url, alice.token, room.id, 'first'), await sendMessage(server.url, bob.token, room.id, 'second')];
    publicSeed = [await sendMessage(server.url, eve.token, publicRoom.id, 'public first'), await sendMessage(server.url, eve.token, publicRoom.id, 'public second')];
  });
  afterAll(() => server.stop());

  const history = async () => (await gqlOk(server.url, HISTORY, { roomId: room.id }, alice.token)).messages.edges.map((e: { node: unknown }) => e.node);
  const run = (transport: Transport, query: string, variables: Record<string, unknown>, user: TestUser | null) =>
    firstResult(transport, server, query, variables, user?.token ?? null);

  describe.each(TRANSPORTS)('over %s', (transport) => {
    it('Query.room: the room for either member; null, as for no room, for anyone else', async () => {
      for (const member of [alice, bob]) {
        const result = await run(transport, ROOM, { id: room.id }, member);
        expect(result.errors).toBeUndefined();
        expect(result.data!.room).toMatchObject({ id: room.id, kind: 'DIRECT', participantCount: expect.any(Number) });
        expect(result.data!.room.members.map((m: { id: string }) => m.id).sort()).toEqual([alice.user.id, bob.user.id].sort());
        expect(result.data!.room.messages.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual(expect.arrayContaining(seed.map((m) => m.id)));
      }
      const outsiders: (TestUser | null)[] = ANONYMOUS_TRANSPORTS.includes(transport) ? [eve, null] : [eve];
      for (const outsider of outsiders) {
        expect(await run(transport, ROOM, { id: room.id }, outsider), outsider?.user.nickname ?? 'no token').toEqual({ data: { room: null } });
      }
      // The answer a missing room gets: the outsider cannot tell the two apart.
      expect(await run(transport, ROOM, { id: '01900000-0000-7000-8000-00000000dead' }, eve)).toEqual({ data: { room: null } });
      // A public room is open to everyone.
      expect((await run(transport, ROOM, { id: publicRoom.id }, alice)).data!.room).toMatchObject({ id: publicRoom.id, kind: 'PUBLIC', members: [] });
    });

    it('Query.messages: the history for a member; FORBIDDEN for anyone else, UNAUTHENTICATED without a token', async () => {
      const result = await run(transport, HISTORY, { roomId: room.id }, bob);
      expect(result.errors).toBeUndefined();
      expect(result.data!.messages.edges.length).toBeGreaterThanOrEqual(2);
      expectRefused(await run(transport, HISTORY, { roomId: room.id }, eve), 'FORBIDDEN', 'outsider');
      if (ANONYMOUS_TRANSPORTS.includes(transport)) expectRefused(await run(transport, HISTORY, { roomId: room.id }, null), 'UNAUTHENTICATED', 'no token');
      expect((await run(transport, HISTORY, { roomId: publicRoom.id }, alice)).data!.messages.edges).toHaveLength(2);
    });

    it('sendMessage: stored for a member; FORBIDDEN for anyone else, and nothing stored', async () => {
      const sent = await run(transport, SEND, { roomId: room.id, body: `from bob over ${transport}` }, bob);
      expect(sent.errors).toBeUndefined();
      const before = await history();
      expect(before.at(-1)).toEqual(sent.data!.sendMessage);
      expectRefused(await run(transport, SEND, { roomId: room.id, body: 'let me in' }, eve), 'FORBIDDEN', 'outsider');
      if (ANONYMOUS_TRANSPORTS.includes(transport)) expectRefused(await run(transport, SEND, { roomId: room.id, body: 'anyone?' }, null), 'UNAUTHENTICATED', 'no token');
      expect(await history()).toEqual(before);
    });

    it('openDirectRoom and directRooms need a token; directRooms shows a user only their own rooms', async () => {
      const listed = await run(transport, DIRECT_ROOMS, {}, eve);
      expect(listed.data!.directRooms.edges).toEqual([]);
      const mine = await run(transport, DIRECT_ROOMS, {}, bob);
      expect(mine.data!.directRooms.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(room.id);
      if (!ANONYMOUS_TRANSPORTS.includes(transport)) return;
      expectRefused(await run(transport, DIRECT_ROOMS, {}, null), 'UNAUTHENTICATED', 'directRooms without a token');
      expectRefused(await run(transport, OPEN_DIRECT_ROOM, { userId: alice.user.id }, null), 'UNAUTHENTICATED', 'openDirectRoom without a token');
    });
  });

  const SUBSCRIPTION_ROUTES: [string, Exclude<Transport, 'http'>, string][] = [
    ['graphql-ws (fan-out fast path)', 'ws', MESSAGE_ADDED],
    ['graphql-ws (general path)', 'ws', MESSAGE_ADDED_GENERAL],
    ['SSE', 'sse', MESSAGE_ADDED],
  ];

  describe.each(SUBSCRIPTION_ROUTES)('messageAdded over %s', (_name, transport, query) => {
    it('replays to a member; refuses anyone else before any event', async () => {
      const after = seed[0]!.id;
      const replay = await run(transport, query, { roomId: room.id, after }, alice);
      expect(replay.errors).toBeUndefined();
      expect(replay.data!.messageAdded).toEqual({ id: seed[1]!.id, seq: seed[1]!.seq, body: seed[1]!.body });
      // The same request from an outsider would start with that replayed message: the error comes first, alone.
      expectRefused(await run(transport, query, { roomId: room.id, after }, eve), 'FORBIDDEN', 'outsider');
      expectRefused(await run(transport, query, { roomId: room.id }, eve), 'FORBIDDEN', 'outsider, live only');
      if (transport === 'sse') expectRefused(await run(transport, query, { roomId: room.id, after }, null), 'UNAUTHENTICATED', 'no token');
      // A public room with the same request replays to anyone.
      const open = await run(transport, query, { roomId: publicRoom.id, after: publicSeed[0]!.id }, bob);
      expect(open.data).toEqual({ messageAdded: { id: publicSeed[1]!.id, seq: 2, body: 'public second' } });
    });
  });

  describe.each(['ws', 'sse'] as const)('participantCount over %s', (transport) => {
    it('sends a member the count; refuses anyone else before any event', async () => {
      const counted = await run(transport, PARTICIPANT_COUNT, { roomId: room.id }, bob);
      expect(counted.data).toEqual({ participantCount: { roomId: room.id, count: expect.any(Number) } });
      expectRefused(await run(transport, PARTICIPANT_COUNT, { roomId: room.id }, eve), 'FORBIDDEN', 'outsider');
      if (transport === 'sse') expectRefused(await run(transport, PARTICIPANT_COUNT, { roomId: room.id }, null), 'UNAUTHENTICATED', 'no token');
      expect((await run(transport, PARTICIPANT_COUNT, { roomId: publicRoom.id }, alice)).data).toEqual({ participantCount: { roomId: publicRoom.id, count: expect.any(Number) } });
    });
  });

  it('directMessageAdded needs a token (SSE without one); a graphql-ws socket cannot open without one at all', async () => {
    expectRefused(await firstResult('sse', server, DIRECT_MESSAGE_ADDED, {}, null), 'UNAUTHENTICATED', 'no token');
  });
});
