import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { DIRECT_ROOMS } from './helpers/direct-rooms.js';
import { errorCode, gql, gqlOk, type GraphQLResponse } from './helpers/graphql.js';
import { ADMIN_TOKEN, BAN_USER, banUser, REPORT_MESSAGE, SEND, storedBodies, trySend, unbanUser, UNBAN_USER } from './helpers/moderation.js';
import { startServer, type TestServer } from './helpers/server.js';
import { firstResult, TRANSPORTS } from './helpers/transports.js';
import { TYPING } from './helpers/typing.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const MATCH = 'subscription($topic: String) { matchFound(topic: $topic) { room { id kind } partner { id } } }';

function expectBanned(result: GraphQLResponse, what: string): void {
  expect(result.errors?.[0]?.extensions?.code, `${what}: ${JSON.stringify(result)}`).toBe('FORBIDDEN');
  expect(result.errors![0]!.message, what).toMatch(/you are banned/);
  expect(result.data ?? null, what).toBeNull();
}

describe('bans', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startServer({ adminToken: ADMIN_TOKEN });
    [alice, bob, carol] = await Promise.all([issueToken(server.url), issueToken(server.url), issueToken(server.url)]);
    roomId = (await createRoom(server.url, bob.token)).id;
  });
  afterAll(() => server?.stop());

  const roomCount = async (): Promise<number> => (await gqlOk(server.url, '{ rooms(first: 100) { edges { node { id } } } }')).rooms.edges.length;
  const directRoomsOf = async (user: TestUser): Promise<number> => (await gqlOk(server.url, DIRECT_ROOMS, { first: 50 }, user.token)).directRooms.edges.length;

  it('checks its input: a user that exists, seconds from 1 up, or omitted', async () => {
    for (const userId of ['00000000-0000-7000-8000-00000000ffff', 'nobody', 'x\u0000y']) {
      expect(errorCode(await gql(server.url, BAN_USER, { userId }, ADMIN_TOKEN))).toBe('NOT_FOUND');
      expect(errorCode(await gql(server.url, UNBAN_USER, { userId }, ADMIN_TOKEN))).toBe('NOT_FOUND');
    }
    for (const seconds of [0, -5, 10 * 365 * 24 * 3600 + 1]) {
      expect(errorCode(await gql(server.url, BAN_USER, { userId: carol.user.id, seconds }, ADMIN_TOKEN)), `seconds ${seconds}`).toBe('BAD_USER_INPUT');
    }
    // Unbanning someone who is not banned is fine and changes nothing.
    expect(await gqlOk(server.url, UNBAN_USER, { userId: carol.user.id }, ADMIN_TOKEN)).toEqual({ unbanUser: true });
    await sendMessage(server.url, carol.token, roomId, 'carol is free');
  });

  it('refuses every write path on every transport, stores nothing, and leaves reading and reporting open', async () => {
    const readerClient = wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    const reading = subscribe<{ messageAdded: { body: string } }>(readerClient, 'subscription($r: ID!) { messageAdded(roomId: $r) { body } }', { r: roomId });
    // Live once a message of hers arrives (the subscription starts after the socket connects).
    await until(async () => {
      await sendMessage(server.url, alice.token, roomId, 'alice before the ban');
      return reading.received.length > 0;
    }, 5_000, 'the subscription to be live');
    await reading.next();
    let readerClosed = false;
    readerClient.on('closed', () => (readerClosed = true));

    expect(await gqlOk(server.url, BAN_USER, { userId: alice.user.id }, ADMIN_TOKEN)).toEqual({ banUser: true });
    const rooms = await roomCount();
    const bobsDirectRooms = await directRoomsOf(bob);

    for (const transport of TRANSPORTS) {
      expectBanned(await firstResult(transport, server, SEND, { roomId, body: `over ${transport}` }, alice.token), `sendMessage over ${transport}`);
      expectBanned(await firstResult(transport, server, 'mutation { createRoom(input: { title: "banned room" }) { id } }', {}, alice.token), `createRoom over ${transport}`);
      expectBanned(await firstResult(transport, server, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: bob.user.id }, alice.token), `openDirectRoom over ${transport}`);
      expectBanned(await firstResult(transport, server, 'mutation($r: ID!) { setTyping(roomId: $r, typing: true) }', { r: roomId }, alice.token), `setTyping over ${transport}`);
    }
    for (const transport of ['ws', 'sse'] as const) {
      const refused = await firstResult(transport, server, MATCH, { topic: 'bans' }, alice.token);
      expect(errorCode(refused), `matchFound over ${transport}`).toBe('FORBIDDEN');
    }

    // Nothing stored: no message, room, direct room, typing or queue place.
    const before = await storedBodies(server.url, roomId);
    expect(before.filter((body) => body !== 'alice before the ban')).toEqual(['carol is free']);
    expect(await roomCount()).toBe(rooms);
    expect(await directRoomsOf(bob)).toBe(bobsDirectRooms);
    const typing = await firstResult('ws', server, TYPING, { roomId }, bob.token);
    expect(typing.data?.typing.users).toEqual([]);
    // Her refused wait left no place in the queue: Bob and Carol, waiting there, get each other.
    const waiters = [bob, carol].map((user) => wsClient(server.wsUrl, { authorization: `Bearer ${user.token}` }));
    const [bobWaits, carolWaits] = waiters.map((client) => subscribe(client, MATCH, { topic: 'bans' }));
    expect((await bobWaits!.next()).matchFound.partner.id).toBe(carol.user.id);
    expect((await carolWaits!.next()).matchFound.partner.id).toBe(bob.user.id);
    await Promise.all(waiters.map((client) => client.dispose()));

    // Still reading, on the socket she had: it stayed open and delivers others' messages.
    const fromBob = await sendMessage(server.url, bob.token, roomId, 'bob after the ban');
    await until(() => reading.received.some((event) => event.messageAdded.body === 'bob after the ban'), 5_000, "bob's message on alice's socket");
    expect((await gqlOk(server.url, 'query($r: ID!) { messages(roomId: $r, last: 1) { edges { node { body } } } }', { r: roomId }, alice.token)).messages.edges).toHaveLength(1);
    expect(await gqlOk(server.url, REPORT_MESSAGE, { messageId: fromBob.id, reason: 'rude' }, alice.token)).toEqual({ reportMessage: true });

    await unbanUser(server.url, alice.user.id);
    await sendMessage(server.url, alice.token, roomId, 'alice unbanned');
    await until(() => reading.received.some((event) => event.messageAdded.body === 'alice unbanned'), 5_000, "alice's message after the ban");
    expect(readerClosed).toBe(false);
    await readerClient.dispose();
  });

  it('cannot be slipped past with aliases, fragments or a second root field', async () => {
    await banUser(server.url, alice.user.id);
    const attempts = [
      'mutation($r: ID!) { hello: sendMessage(input: { roomId: $r, body: "aliased" }) { id } }',
      'mutation($r: ID!) { ...Send } fragment Send on Mutation { sendMessage(input: { roomId: $r, body: "fragment" }) { id } }',
      'mutation($r: ID!) { ... on Mutation { sendMessage(input: { roomId: $r, body: "inline" }) { id } } }',
      'mutation($r: ID!) { ...Outer } fragment Outer on Mutation { ...Inner } fragment Inner on Mutation { sendMessage(input: { roomId: $r, body: "nested" }) { id } }',
      'mutation($r: ID!, $m: ID!) { reportMessage(messageId: $m) sendMessage(input: { roomId: $r, body: "second" }) { id } }',
    ];
    const reportable = await sendMessage(server.url, bob.token, roomId, 'something to report');
    for (const query of attempts) expectBanned(await gql(server.url, query, { r: roomId, m: reportable.id }, alice.token), query);
    expect(await storedBodies(server.url, roomId)).not.toEqual(expect.arrayContaining(['aliased', 'fragment', 'inline', 'nested', 'second']));
    await unbanUser(server.url, alice.user.id);
  });

  it('says until when a timed ban lasts, and lifts it by itself', async () => {
    const room = await createRoom(server.url, carol.token);
    await banUser(server.url, carol.user.id, 1);
    const refused = await trySend(server.url, carol.token, room.id, 'too early');
    expectBanned(refused, 'during a timed ban');
    const bannedUntil = Date.parse(refused.errors![0]!.extensions!.bannedUntil as string);
    expect(bannedUntil).toBeGreaterThan(Date.now() - 1_000);
    expect(bannedUntil).toBeLessThanOrEqual(Date.now() + 1_000);
    await until(async () => (await trySend(server.url, carol.token, room.id, 'lifted')).data?.sendMessage != null, 3_000, 'the timed ban to lift');
    expect(await storedBodies(server.url, room.id)).toEqual(['lifted']);
  });

  it('replaces a ban with the newest: a timed ban made open-ended, until unbanned', async () => {
    const room = await createRoom(server.url, carol.token);
    await banUser(server.url, carol.user.id, 3600);
    await banUser(server.url, carol.user.id);
    const refused = await trySend(server.url, carol.token, room.id, 'no');
    expectBanned(refused, 'open-ended');
    expect(refused.errors![0]!.extensions!.bannedUntil).toBeNull();
    await unbanUser(server.url, carol.user.id);
    await sendMessage(server.url, carol.token, room.id, 'yes');
  });
});
