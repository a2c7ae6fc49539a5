import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { allMessages } from './helpers/pages.js';
import { sendMany, sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ROOM_FEED = `subscription($roomId: ID!, $after: ID) {
  messageAdded(roomId: $roomId, after: $after) { id seq body sender { handle } }
}`;

interface FeedEvent {
  messageAdded: { id: string; seq: number; body: string; sender: { handle: string } };
}

describe('live messages over WebSocket', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const clients: Client[] = [];
  /** A graphql-ws client for `user`, disposed after the test. */
  const connect = (user: TestUser) => {
    const client = wsClient(server.wsUrl, { token: user.token });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    bob = await issueToken(server.url, { nickname: 'Bob' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.stop());

  it('lets two users chat: each sees the other’s messages live, with the sender’s handle', async () => {
    const room = await createRoom(server.url, alice.token, 'two of us');
    // Each app shows the room's newest message and subscribes after it, so nothing falls in between.
    const opening = await sendMessage(server.url, alice.token, room.id, 'anyone here?');
    const aliceSees = subscribe<FeedEvent>(connect(alice), ROOM_FEED, { roomId: room.id, after: opening.id });
    const bobSees = subscribe<FeedEvent>(connect(bob), ROOM_FEED, { roomId: room.id, after: opening.id });

    const hi = await sendMessage(server.url, bob.token, room.id, 'hi Alice!');
    expect((await aliceSees.next()).messageAdded).toEqual({ id: hi.id, seq: hi.seq, body: 'hi Alice!', sender: { handle: bob.user.handle } });
    const back = await sendMessage(server.url, alice.token, room.id, 'hey Bob');
    expect((await bobSees.next()).messageAdded).toEqual({ id: hi.id, seq: hi.seq, body: 'hi Alice!', sender: { handle: bob.user.handle } });
    expect((await bobSees.next()).messageAdded).toEqual({ id: back.id, seq: back.seq, body: 'hey Bob', sender: { handle: alice.user.handle } });
    expect((await aliceSees.next()).messageAdded).toEqual({ id: back.id, seq: back.seq, body: 'hey Bob', sender: { handle: alice.user.handle } });
  });

  it('without `after`, delivers only messages sent after joining', async () => {
    const room = await createRoom(server.url, alice.token);
    const old = await sendMessage(server.url, alice.token, room.id, 'before you came');
    const bobSees = subscribe<FeedEvent>(connect(bob), ROOM_FEED, { roomId: room.id });
    // There is no "subscribed" signal: keep talking until Bob hears something.
    const sent = [];
    while (bobSees.received.length === 0) {
      sent.push(await sendMessage(server.url, alice.token, room.id, `are you there? ${sent.length}`));
      if (sent.length > 100) throw new Error('Bob never heard anything');
    }
    const last = await sendMessage(server.url, alice.token, room.id, 'last one');
    sent.push(last);
    await until(() => bobSees.received.some((e) => e.messageAdded.id === last.id), 5_000, 'Bob to hear the last message');
    const heard = bobSees.received.map((e) => e.messageAdded.id);
    expect(heard).not.toContain(old.id);
    // From the first message Bob heard on, he hears every one, in order.
    expect(heard).toEqual(sent.slice(sent.findIndex((m) => m.id === heard[0])).map((m) => m.id));
  });

  it('answers an unknown room with NOT_FOUND', async () => {
    const client = connect(alice);
    for (const roomId of ['00000000-0000-7000-8000-000000000000', 'no-such-room']) {
      const errors = (await subscribe(client, ROOM_FEED, { roomId }).error()) as { extensions?: { code?: string } }[];
      expect(errors[0]?.extensions?.code, roomId).toBe('NOT_FOUND');
    }
  });

  it('answers an `after` that is not a message of the room with BAD_USER_INPUT', async () => {
    const room = await createRoom(server.url, alice.token);
    const elsewhere = await createRoom(server.url, alice.token);
    const foreign = await sendMessage(server.url, alice.token, elsewhere.id, 'in another room');
    const client = connect(alice);
    for (const after of [foreign.id, '00000000-0000-7000-8000-000000000000', 'not-an-id']) {
      const errors = (await subscribe(client, ROOM_FEED, { roomId: room.id, after }).error()) as { extensions?: { code?: string } }[];
      expect(errors[0]?.extensions?.code, after).toBe('BAD_USER_INPUT');
    }
  });

  it('delivers 200 rapid messages to 3 subscribers each in seq order, none missing or doubled, in history’s order', async () => {
    const room = await createRoom(server.url, alice.token, 'busy');
    const seed = await sendMessage(server.url, alice.token, room.id, 'ready?');
    const carol = await issueToken(server.url, { nickname: 'Carol' });
    const subscribers = [alice, bob, carol].map((user) => subscribe<FeedEvent>(connect(user), ROOM_FEED, { roomId: room.id, after: seed.id }));

    const sent = await sendMany(server.url, [alice, bob], room.id, 200, { streams: 4 });
    const history = (await allMessages(server.url, room.id)).filter((m) => m.seq > seed.seq);
    expect(sent.map((m) => m.id)).toEqual(history.map((m) => m.id));
    expect(history.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => seed.seq + 1 + i));

    for (const subscriber of subscribers) {
      const got = (await subscriber.take(200, 20_000)).map((e) => e.messageAdded);
      expect(got.map((m) => m.id)).toEqual(history.map((m) => m.id));
      expect(got).toEqual(history.map(({ id, seq, body, sender }) => ({ id, seq, body, sender: { handle: sender.handle } })));
    }
    // Nothing doubled trails behind: the next event is the next message.
    const last = await sendMessage(server.url, bob.token, room.id, 'done');
    for (const subscriber of subscribers) expect((await subscriber.next()).messageAdded.id).toBe(last.id);
  });

  it('gives subscribers with different selection sets exactly the shape each asked for', async () => {
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const vars = { roomId: room.id, after: seed.id };
    const minimal = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id body } }';
    const full = `subscription($roomId: ID!, $after: ID) {
      messageAdded(roomId: $roomId, after: $after) { id seq sender { handle } createdAt clientMessageId }
    }`;
    const aliased = `subscription Aliased($roomId: ID!, $after: ID) {
      added: messageAdded(roomId: $roomId, after: $after) { ...Text author: sender { nickname tag } __typename }
    }
    fragment Text on Message { text: body id }`;
    const optional = `subscription($roomId: ID!, $after: ID, $withSender: Boolean!) {
      messageAdded(roomId: $roomId, after: $after) { id sender @include(if: $withSender) { handle } }
    }`;
    const aliceClient = connect(alice);
    const bobClient = connect(bob);
    const subs = {
      minimal: subscribe(aliceClient, minimal, vars),
      minimalElsewhere: subscribe(bobClient, minimal, vars),
      full: subscribe(bobClient, full, vars),
      aliased: subscribe(aliceClient, aliased, vars),
      withSender: subscribe(aliceClient, optional, { ...vars, withSender: true }),
      withoutSender: subscribe(bobClient, optional, { ...vars, withSender: false }),
    };

    const message = await sendMessage(server.url, bob.token, room.id, 'shapes', 'client-42');
    const [stored] = await allMessages(server.url, room.id).then((h) => h.filter((m) => m.id === message.id));
    expect(stored).toBeDefined();

    expect(await subs.minimal.next()).toEqual({ messageAdded: { id: message.id, body: 'shapes' } });
    expect(await subs.minimalElsewhere.next()).toEqual({ messageAdded: { id: message.id, body: 'shapes' } });
    const fullEvent = await subs.full.next();
    expect(fullEvent).toEqual({
      messageAdded: { id: message.id, seq: message.seq, sender: { handle: bob.user.handle }, createdAt: expect.any(String), clientMessageId: 'client-42' },
    });
    expect(fullEvent.messageAdded.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(await subs.aliased.next()).toEqual({
      added: { text: 'shapes', id: message.id, author: { nickname: bob.user.nickname, tag: bob.user.tag }, __typename: 'Message' },
    });
    expect(await subs.withSender.next()).toEqual({ messageAdded: { id: message.id, sender: { handle: bob.user.handle } } });
    expect(await subs.withoutSender.next()).toEqual({ messageAdded: { id: message.id } });
  });
});

describe('live messages over SSE', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
  });
  afterAll(() => server.stop());

  it('delivers the same operation over Server-Sent Events', async () => {
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const missed = await sendMessage(server.url, alice.token, room.id, 'sent before the stream opened');
    const stream = sseSubscribe<FeedEvent>(server.url, ROOM_FEED, { roomId: room.id, after: seed.id }, alice.token);
    try {
      await stream.ready;
      const live = await sendMessage(server.url, alice.token, room.id, 'sent while streaming');
      const events = (await stream.take(2)).map((e) => e.messageAdded);
      expect(events).toEqual([
        { id: missed.id, seq: missed.seq, body: missed.body, sender: { handle: alice.user.handle } },
        { id: live.id, seq: live.seq, body: live.body, sender: { handle: alice.user.handle } },
      ]);
    } finally {
      stream.close();
    }
  });
});
