import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gqlOk } from './helpers/graphql.js';
import { rawConnection, sseSubscribe } from './helpers/realtime.js';
import { redisUrl, startServer, type TestServer } from './helpers/server.js';
import { sseFirst } from './helpers/transports.js';
import { until, within } from './helpers/wait.js';
import { subscribe, wsClient, type Subscription } from './helpers/ws.js';

const MATCH = 'subscription($topic: String) { matchFound(topic: $topic) { room { id kind members { id } } partner { id handle } } }';

interface MatchEvent {
  matchFound: { room: { id: string; kind: string; members: { id: string }[] }; partner: { id: string; handle: string } };
}

type GraphQLErrors = { message: string; extensions?: { code?: string } }[];

describe('random matching (matchFound)', () => {
  let server: TestServer;
  const clients: Client[] = [];
  let users = 0;

  /** A graphql-ws client that keeps its socket while idle, so closing it is one socket closing. */
  const connect = (user: TestUser) => {
    const client = wsClient(server.wsUrl, { token: user.token }, { lazyCloseTimeout: 60_000 });
    clients.push(client);
    return client;
  };
  const newUser = () => issueToken(server.url, { nickname: `Waiter ${++users}` });
  const waitFor = (client: Client, topic?: string) => subscribe<MatchEvent>(client, MATCH, topic === undefined ? {} : { topic });
  const open = () => server.app.services.matching.open;
  /**
   * Resolves once `count` waiters of this server are in a queue. Only the order
   * of arrival is built on this; what is asserted is what the users get.
   */
  const queued = (count: number) => until(() => open().queued === count && open().waiters === count, 5_000, `${count} waiter(s) in the queue`);
  /** Both got one MatchFound naming each other and the same room; returns that room's id. */
  const expectPaired = async (one: { user: TestUser; waits: Subscription<MatchEvent> }, other: { user: TestUser; waits: Subscription<MatchEvent> }) => {
    const [a, b] = await Promise.all([one.waits.next(), other.waits.next()]);
    expect(a.matchFound.partner.id).toBe(other.user.user.id);
    expect(b.matchFound.partner.id).toBe(one.user.user.id);
    expect(a.matchFound.room.id).toBe(b.matchFound.room.id);
    return a.matchFound.room.id;
  };

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    // Whatever a test left waiting has left the queue once its sockets closed.
    await until(() => open().waiters === 0 && open().offers === 0, 5_000, 'every waiter to leave');
  });
  afterAll(() => server.stop());

  it('pairs two users with one MatchFound each, naming each other and one fresh DIRECT room, then completes both', async () => {
    const [alice, bob] = await Promise.all([newUser(), newUser()]);
    const aliceWaits = waitFor(connect(alice));
    await queued(1);
    const bobWaits = waitFor(connect(bob));
    const roomId = await expectPaired({ user: alice, waits: aliceWaits }, { user: bob, waits: bobWaits });
    await within(Promise.all([aliceWaits.completed, bobWaits.completed]), 5_000, 'both subscriptions to complete');
    expect([aliceWaits.received.length, bobWaits.received.length]).toEqual([1, 1]);
    const { room } = aliceWaits.received[0]!.matchFound;
    expect(room.kind).toBe('DIRECT');
    expect(room.members.map((member) => member.id).sort()).toEqual([alice.user.id, bob.user.id].sort());
    expect(open()).toEqual({ waiters: 0, queued: 0, offers: 0 });

    // A room of its own: both can write in it, it is in both users' directRooms, and it is not the pair's openDirectRoom room.
    const hello = await sendMessage(server.url, bob.token, roomId, 'hi, stranger');
    expect(hello.roomId).toBe(roomId);
    for (const member of [alice, bob]) {
      const data = await gqlOk<{ directRooms: { edges: { node: { id: string } }[] } }>(server.url, '{ directRooms(first: 50) { edges { node { id } } } }', {}, member.token);
      expect(data.directRooms.edges.map((edge) => edge.node.id)).toContain(roomId);
    }
    const pairRoom = await gqlOk<{ openDirectRoom: { id: string } }>(server.url, 'mutation($userId: ID!) { openDirectRoom(userId: $userId) { id } }', { userId: bob.user.id }, alice.token);
    expect(pairRoom.openDirectRoom.id).not.toBe(roomId);

    // The same two matched again get another fresh room.
    const bobAgain = waitFor(connect(bob));
    await queued(1);
    const aliceAgain = waitFor(connect(alice));
    const secondRoomId = await expectPaired({ user: bob, waits: bobAgain }, { user: alice, waits: aliceAgain });
    expect(secondRoomId).not.toBe(roomId);
    expect(secondRoomId).not.toBe(pairRoom.openDirectRoom.id);
  });

  it('is first come, first served, and never pairs a user with themselves: a user waiting twice waits for someone else', async () => {
    const [alice, bob, carol] = await Promise.all([newUser(), newUser(), newUser()]);
    // Alice waits twice on one socket and once more on another: three waiters, one user, no match among them.
    const aliceSocket = connect(alice);
    const first = waitFor(aliceSocket);
    await queued(1);
    const second = waitFor(aliceSocket);
    await queued(2);
    const third = waitFor(connect(alice));
    await queued(3);

    // Each newcomer takes the oldest of Alice's waiters.
    const bobWaits = waitFor(connect(bob));
    await expectPaired({ user: alice, waits: first }, { user: bob, waits: bobWaits });
    await queued(2);
    const carolWaits = waitFor(connect(carol));
    await expectPaired({ user: alice, waits: second }, { user: carol, waits: carolWaits });
    await queued(1);
    expect(third.received).toEqual([]);
    expect(first.received[0]!.matchFound.room.id).not.toBe(second.received[0]!.matchFound.room.id);

    // The third is still waiting, and still for someone else.
    const dave = await newUser();
    const daveWaits = waitFor(connect(dave));
    await expectPaired({ user: alice, waits: third }, { user: dave, waits: daveWaits });
  });

  it('leaves the queue at once when the subscription completes: a later waiter is never paired with it', async () => {
    const [alice, bob, carol] = await Promise.all([newUser(), newUser(), newUser()]);
    const aliceSocket = connect(alice);
    const aliceWaits = waitFor(aliceSocket);
    await queued(1);
    aliceWaits.unsubscribe();
    await until(() => open().waiters === 0, 1_000, 'Alice to leave the queue');

    const bobWaits = waitFor(connect(bob));
    await queued(1);
    const carolWaits = waitFor(connect(carol));
    await expectPaired({ user: bob, waits: bobWaits }, { user: carol, waits: carolWaits });
    expect(aliceWaits.received).toEqual([]);
    // Her socket stayed open and she may wait again.
    const aliceAgain = waitFor(aliceSocket);
    await queued(1);
    const dave = await newUser();
    const daveWaits = waitFor(connect(dave));
    await expectPaired({ user: alice, waits: aliceAgain }, { user: dave, waits: daveWaits });
  });

  it('leaves the queue at once when the socket closes, cleanly or not', async () => {
    const [alice, bob, carol, dave] = await Promise.all([newUser(), newUser(), newUser(), newUser()]);
    // A client that closes its socket.
    const aliceClient = wsClient(server.wsUrl, { token: alice.token }, { lazyCloseTimeout: 60_000 });
    const aliceWaits = waitFor(aliceClient);
    await queued(1);
    await aliceClient.dispose();
    await until(() => open().waiters === 0, 1_000, 'Alice to leave the queue');

    // A peer whose TCP connection just drops.
    const raw = await rawConnection(server.wsUrl, { token: bob.token });
    raw.send({ id: 'm', type: 'subscribe', payload: { query: MATCH, variables: {} } });
    await queued(1);
    raw.socket.terminate();
    await until(() => open().waiters === 0, 1_000, 'Bob to leave the queue');

    const carolWaits = waitFor(connect(carol));
    await queued(1);
    const daveWaits = waitFor(connect(dave));
    await expectPaired({ user: carol, waits: carolWaits }, { user: dave, waits: daveWaits });
    expect(aliceWaits.received).toEqual([]);
  });

  it('keeps topics apart (trimmed, spaces collapsed, case-insensitive), and the general queue apart from every topic', async () => {
    const [alice, bob, carol, dave, erin, frank] = await Promise.all([newUser(), newUser(), newUser(), newUser(), newUser(), newUser()]);
    const aliceWaits = waitFor(connect(alice), 'Film  Music');
    const bobWaits = waitFor(connect(bob), 'chess');
    const carolWaits = waitFor(connect(carol));
    await queued(3);

    const daveWaits = waitFor(connect(dave), '  film music ');
    await expectPaired({ user: alice, waits: aliceWaits }, { user: dave, waits: daveWaits });
    const erinWaits = waitFor(connect(erin), 'CHESS');
    await expectPaired({ user: bob, waits: bobWaits }, { user: erin, waits: erinWaits });
    const frankWaits = waitFor(connect(frank));
    await expectPaired({ user: carol, waits: carolWaits }, { user: frank, waits: frankWaits });
  });

  it('works over SSE: pairs with a WebSocket waiter, ends the stream after the match, and a closed stream leaves the queue', async () => {
    const [alice, bob, carol, dave, erin] = await Promise.all([newUser(), newUser(), newUser(), newUser(), newUser()]);
    const aliceSse = sseSubscribe<MatchEvent>(server.url, MATCH, { topic: 'films' }, alice.token);
    await queued(1);
    const bobWaits = waitFor(connect(bob), 'films');
    const [a, b] = await Promise.all([aliceSse.next(), bobWaits.next()]);
    expect(a.matchFound.partner.id).toBe(bob.user.id);
    expect(b.matchFound.partner.id).toBe(alice.user.id);
    expect(a.matchFound.room.id).toBe(b.matchFound.room.id);
    await expect(aliceSse.next()).rejects.toThrow('the event stream ended');

    // Two SSE waiters pair with each other too.
    const carolSse = sseSubscribe<MatchEvent>(server.url, MATCH, {}, carol.token);
    await queued(1);
    const daveSse = sseSubscribe<MatchEvent>(server.url, MATCH, {}, dave.token);
    const [c, d] = await Promise.all([carolSse.next(), daveSse.next()]);
    expect([c.matchFound.partner.id, d.matchFound.partner.id]).toEqual([dave.user.id, carol.user.id]);
    expect(c.matchFound.room.id).toBe(d.matchFound.room.id);

    // A browser tab that closes its stream leaves the queue.
    const erinSse = sseSubscribe<MatchEvent>(server.url, MATCH, {}, erin.token);
    await queued(1);
    erinSse.close();
    await until(() => open().waiters === 0, 1_000, 'Erin to leave the queue');
    const [frank, grace] = await Promise.all([newUser(), newUser()]);
    const frankWaits = waitFor(connect(frank));
    await queued(1);
    const graceWaits = waitFor(connect(grace));
    await expectPaired({ user: frank, waits: frankWaits }, { user: grace, waits: graceWaits });
    expect(erinSse.received).toEqual([]);
  });

  it('refuses a bad topic (BAD_USER_INPUT) and a caller without a token (UNAUTHENTICATED) before queuing anything', async () => {
    const alice = await newUser();
    const client = connect(alice);
    const bad = ['', '   ', 'x'.repeat(33), 'a/b', 'tab\there', 'new\nline', 'party 🎉', '-dash first', 'rock & roll', 'null\u0000byte'];
    for (const topic of bad) {
      const errors = (await waitFor(client, topic).error()) as GraphQLErrors;
      expect(errors[0]?.extensions?.code, JSON.stringify(topic)).toBe('BAD_USER_INPUT');
      expect(errors[0]?.message).toMatch(/topic/);
    }
    expect(errorCode(await sseFirst(server.url, MATCH, { topic: 'a/b' }, alice.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await sseFirst(server.url, MATCH, {}, null))).toBe('UNAUTHENTICATED');
    expect(open().waiters).toBe(0);

    // The longest topic, letters of any script, and the punctuation allowed inside a topic are fine.
    const good = ['x'.repeat(32), 'café à deux', 'rock_n-roll.2', '音楽', 'संगीत'];
    const bob = await newUser();
    for (const topic of good) {
      const aliceWaits = waitFor(client, topic);
      await queued(1);
      const bobWaits = waitFor(connect(bob), topic);
      await expectPaired({ user: alice, waits: aliceWaits }, { user: bob, waits: bobWaits });
    }
  });
});

describe.skipIf(!redisUrl)('random matching on Redis: a waiter whose queue entry was lost', () => {
  let server: TestServer;
  let redis: Redis;
  const clients: Client[] = [];
  beforeAll(async () => {
    // Renewals every third of a second.
    server = await startServer({ presenceTtlSeconds: 1 });
    redis = new Redis(redisUrl!);
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    redis?.disconnect();
    await server?.stop();
  });

  it('waits again after the next renewal: an outage longer than the TTL, or a flushed Redis, heals by itself', async () => {
    const [alice, bob] = await Promise.all([issueToken(server.url, { nickname: 'Alice' }), issueToken(server.url, { nickname: 'Bob' })]);
    const topic = `lapse ${Math.random().toString(36).slice(2, 8)}`;
    const connect = (user: TestUser) => {
      const client = wsClient(server.wsUrl, { token: user.token });
      clients.push(client);
      return client;
    };
    const aliceWaits = subscribe<MatchEvent>(connect(alice), MATCH, { topic });
    let queueKey: string | undefined;
    await until(async () => (queueKey = (await redis.keys(`{*:matching}:queue:topic:${topic}`))[0]) !== undefined, 5_000, 'Alice to be queued');
    // Everything Redis knew of this instance's matching is gone, as the other instances would have dropped it.
    await redis.del(queueKey!, `${queueKey!.slice(0, queueKey!.indexOf('}') + 1)}:instances`);
    await until(async () => (await redis.llen(queueKey!)) === 1, 3_000, 'Alice to be queued again');
    const bobWaits = subscribe<MatchEvent>(connect(bob), MATCH, { topic });
    const [a, b] = await Promise.all([aliceWaits.next(), bobWaits.next()]);
    expect(a.matchFound.partner.id).toBe(bob.user.id);
    expect(b.matchFound.partner.id).toBe(alice.user.id);
    expect(a.matchFound.room.id).toBe(b.matchFound.room.id);
  });
});
