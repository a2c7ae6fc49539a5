import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { participantCountOf, rawConnection, sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until, within } from './helpers/wait.js';
import { subscribe, wsClient, type Subscription } from './helpers/ws.js';

const PARTICIPANTS = 'subscription($roomId: ID!) { participantCount(roomId: $roomId) { roomId count } }';
const ROOM_FEED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id } }';
const COUNT_QUERY = 'query($id: ID!) { room(id: $id) { participantCount } }';

interface CountEvent {
  participantCount: { roomId: string; count: number };
}

describe('participant counts', () => {
  let server: TestServer;
  let host: TestUser;
  const clients: Client[] = [];
  /** A graphql-ws client that keeps its socket while idle, so "one socket" means one socket. */
  const connect = (user: TestUser) => {
    const client = wsClient(server.wsUrl, { token: user.token }, { lazyCloseTimeout: 60_000 });
    clients.push(client);
    return client;
  };
  /** Someone watching the room's count without being in it. */
  const watch = async (roomId: string) => {
    const watcher = await issueToken(server.url, { nickname: 'Watcher' });
    return subscribe<CountEvent>(connect(watcher), PARTICIPANTS, { roomId });
  };
  const counts = (sub: Subscription<CountEvent>) => sub.received.map((e) => e.participantCount.count);
  /** The count as a query over `client`'s own socket: answered only after everything it sent earlier. */
  const countOver = async (client: Client, roomId: string) => {
    const [result] = await subscribe<{ room: { participantCount: number } }>(client, COUNT_QUERY, { id: roomId }).take(1);
    return result!.room.participantCount;
  };
  /** Joins `user` to the room's messages over `client`; resolves once a message proves the subscription live. */
  const join = async (client: Client, user: TestUser, roomId: string) => {
    const seed = await sendMessage(server.url, host.token, roomId, 'knock knock');
    const feed = subscribe<{ messageAdded: { id: string } }>(client, ROOM_FEED, { roomId, after: seed.id });
    const probe = await sendMessage(server.url, host.token, roomId, `welcome ${user.user.handle}`);
    expect((await feed.next()).messageAdded.id).toBe(probe.id);
    return feed;
  };

  beforeAll(async () => {
    // Pings every 500 ms: a silent peer is dropped within a second.
    server = await startServer({ websocket: { keepAliveMs: 500 } });
    host = await issueToken(server.url, { nickname: 'Host' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.stop());

  it('counts distinct users subscribed to messages: +1 per user, once per user, -1 on leaving or disconnecting', async () => {
    const room = await createRoom(server.url, host.token);
    const watcher = await watch(room.id);
    expect((await watcher.next()).participantCount).toEqual({ roomId: room.id, count: 0 });

    const [alice, bob] = await Promise.all([issueToken(server.url, { nickname: 'Alice' }), issueToken(server.url, { nickname: 'Bob' })]);
    const aliceLaptop = connect(alice);
    const aliceLaptopFeed = await join(aliceLaptop, alice, room.id);
    expect((await watcher.next()).participantCount.count).toBe(1);

    // Alice on a second device is still one participant.
    const alicePhone = connect(alice);
    const alicePhoneFeed = await join(alicePhone, alice, room.id);
    expect(await participantCountOf(server.url, room.id)).toBe(1);

    const bobClient = connect(bob);
    await join(bobClient, bob, room.id);
    expect((await watcher.next()).participantCount.count).toBe(2);
    expect(await participantCountOf(server.url, room.id)).toBe(2);

    // Alice closes the room on her phone: still there on her laptop.
    alicePhoneFeed.unsubscribe();
    expect(await countOver(alicePhone, room.id)).toBe(2);
    // ...and then on her laptop too.
    aliceLaptopFeed.unsubscribe();
    expect(await countOver(aliceLaptop, room.id)).toBe(1);
    expect((await watcher.next()).participantCount.count).toBe(1);

    // Bob's connection drops.
    await bobClient.dispose();
    expect((await watcher.next()).participantCount.count).toBe(0);
    expect(await participantCountOf(server.url, room.id)).toBe(0);
    expect(counts(watcher)).toEqual([0, 1, 2, 1, 0]);
  });

  it('agrees with Room.participantCount over HTTP', async () => {
    const room = await createRoom(server.url, host.token);
    const users = await Promise.all(['Ann', 'Ben', 'Cat'].map((nickname) => issueToken(server.url, { nickname })));
    for (const [i, user] of users.entries()) {
      await join(connect(user), user, room.id);
      expect(await participantCountOf(server.url, room.id)).toBe(i + 1);
    }
    // A newcomer watching the room is told the current count first.
    const watcher = await watch(room.id);
    expect((await watcher.next()).participantCount).toEqual({ roomId: room.id, count: 3 });
  });

  it('counts a user once when subscribed over both WebSocket and SSE', async () => {
    const room = await createRoom(server.url, host.token);
    const watcher = await watch(room.id);
    expect((await watcher.next()).participantCount.count).toBe(0);
    const dana = await issueToken(server.url, { nickname: 'Dana' });

    const socket = connect(dana);
    await join(socket, dana, room.id);
    expect((await watcher.next()).participantCount.count).toBe(1);
    // Her socket also follows a quiet room of its own: when that room empties, the server has let the socket go.
    const quietRoom = await createRoom(server.url, host.token);
    await join(socket, dana, quietRoom.id);

    const seed = await sendMessage(server.url, host.token, room.id, 'for the stream');
    const stream = sseSubscribe<{ messageAdded: { id: string } }>(server.url, ROOM_FEED, { roomId: room.id, after: seed.id }, dana.token);
    try {
      await stream.ready;
      const probe = await sendMessage(server.url, host.token, room.id, 'hello stream');
      expect((await stream.next()).messageAdded.id).toBe(probe.id);
      expect(await participantCountOf(server.url, room.id)).toBe(1);

      await socket.dispose();
      await until(async () => (await participantCountOf(server.url, quietRoom.id)) === 0, 2_000, 'the socket to be let go');
      expect(await participantCountOf(server.url, room.id)).toBe(1);
    } finally {
      stream.close();
    }
    expect((await watcher.next()).participantCount.count).toBe(0);
    expect(counts(watcher)).toEqual([0, 1, 0]);
  });

  it('drops a client that stops answering pings', async () => {
    const room = await createRoom(server.url, host.token);
    const watcher = await watch(room.id);
    expect((await watcher.next()).participantCount.count).toBe(0);
    const eve = await issueToken(server.url, { nickname: 'Eve' });

    // A peer whose network went away: it never answers the server's pings.
    const silent = await rawConnection(server.wsUrl, { token: eve.token }, { autoPong: false });
    silent.send({ id: 'feed', type: 'subscribe', payload: { query: ROOM_FEED, variables: { roomId: room.id } } });
    expect((await watcher.next()).participantCount.count).toBe(1);

    const closed = await within(silent.closed, 3_000, 'the silent peer to be dropped');
    expect(closed.code).toBe(1006);
    expect((await watcher.next()).participantCount.count).toBe(0);
    expect(await participantCountOf(server.url, room.id)).toBe(0);
  });

  it('coalesces a burst of joins: the final count arrives within 1 s and no event exceeds the true count', async () => {
    const room = await createRoom(server.url, host.token);
    const watcher = await watch(room.id);
    expect((await watcher.next()).participantCount.count).toBe(0);
    const crowd = await Promise.all(Array.from({ length: 20 }, (_, i) => issueToken(server.url, { nickname: `Guest${i}` })));
    const seed = await sendMessage(server.url, host.token, room.id, 'doors open');

    for (const guest of crowd) subscribe(connect(guest), ROOM_FEED, { roomId: room.id, after: seed.id });
    await until(async () => (await participantCountOf(server.url, room.id)) === 20, 5_000, 'all 20 guests to join');
    const allJoinedAt = Date.now();
    await until(() => counts(watcher).at(-1) === 20, 1_000, 'the watcher to see 20');
    expect(Date.now() - allJoinedAt).toBeLessThan(1_000);

    // Only joins happened: every value seen is one the room really had on the way up.
    const seen = counts(watcher);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(new Set(seen).size).toBe(seen.length);
    expect(Math.max(...seen)).toBe(20);
  });

  it('never goes below zero', async () => {
    const room = await createRoom(server.url, host.token);
    const watcher = await watch(room.id);
    expect((await watcher.next()).participantCount.count).toBe(0);
    const fred = await issueToken(server.url, { nickname: 'Fred' });
    for (let round = 0; round < 3; round++) {
      const client = connect(fred);
      const feed = await join(client, fred, room.id);
      feed.unsubscribe();
      await client.dispose();
    }
    await until(async () => (await participantCountOf(server.url, room.id)) === 0, 2_000, 'the room to empty');
    await until(() => counts(watcher).at(-1) === 0, 1_000, 'the watcher to see 0');
    expect(Math.min(...counts(watcher))).toBe(0);
  });
});
