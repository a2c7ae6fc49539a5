import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatError, createChatClient, memoryStorage, type ChatClient, type ChatClientOptions, type ChatMessageFragment, type ConnectionState } from 'chat-api/sdk';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { EventQueue } from './helpers/events.js';
import { allMessages } from './helpers/pages.js';
import { participantCountOf, sendMany, signToken } from './helpers/realtime.js';
import { createTestDatabase, startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { until, within } from './helpers/wait.js';

// The SDK (sdk/, `chat-api/sdk`) against the real server, as an app uses it: no reconnect or resume code of the app's own.

const clients: ChatClient[] = [];
function chatClient(options: Partial<ChatClientOptions> & { url: string }): ChatClient {
  const chat = createChatClient({ webSocketImpl: WebSocket, retryDelayMs: () => 50, ...options });
  clients.push(chat);
  return chat;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((chat) => chat.close()));
});

/** Every state the client passes through from now on. */
function statesOf(chat: ChatClient): ConnectionState[] {
  const states: ConnectionState[] = [];
  chat.on('state', (state) => states.push(state));
  return states;
}

function online(chat: ChatClient, ms = 5_000): Promise<void> {
  return until(() => chat.state === 'online', ms, 'the client to be online');
}

function follow(chat: ChatClient, roomId: string, after?: string): EventQueue<ChatMessageFragment> {
  const messages = new EventQueue<ChatMessageFragment>('a message from the SDK');
  chat.messageAdded({ roomId, after }, { next: (m) => messages.push(m), error: (e) => messages.fail(e) });
  return messages;
}

/** The room's history after `seq`, the truth a client must match exactly. */
async function historyAfter(url: string, roomId: string, seq: number): Promise<string[]> {
  return (await allMessages(url, roomId)).filter((m) => m.seq > seq).map((m) => m.id);
}

describe('the SDK keeps the identity', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('issues one on the first visit and keeps it in storage: the next visit is the same user with the same token', async () => {
    const storage = memoryStorage();
    const first = chatClient({ url: server.url, storage, nickname: 'Visitor' });
    const session = await first.ready();
    expect(session.user.handle).toMatch(/^Visitor#\d{4}$/);
    await first.close();

    const again = chatClient({ url: server.url, storage });
    expect(await again.ready()).toEqual(session);
    expect((await again.me())!.id).toBe(session.user.id);
  });

  it('restores a stored token that expired: the same user and handle, with a fresh token', async () => {
    const user = await issueToken(server.url, { nickname: 'Sleeper' });
    const expired = signToken(user.user, -3600);
    const storage = memoryStorage({
      'chat-api.session': JSON.stringify({ token: expired.token, expiresAt: new Date(expired.exp * 1000).toISOString(), user: user.user }),
    });
    const chat = chatClient({ url: server.url, storage });
    const session = await chat.ready();
    expect(session.user).toEqual(user.user);
    expect(session.token).not.toBe(expired.token);
    expect(Date.parse(session.expiresAt)).toBeGreaterThan(Date.now());
    expect((await chat.me())!.handle).toBe(user.user.handle);
    expect(JSON.parse((await storage.getItem('chat-api.session'))!).token).toBe(session.token);
  });

  it('gets a working identity when the server refuses the stored token (another server’s secret), and subscribes with it', async () => {
    const user = await issueToken(server.url);
    const forged = signToken(user.user, 3600, 'another-secret-that-is-at-least-32-bytes!!');
    const storage = memoryStorage({
      'chat-api.session': JSON.stringify({ token: forged.token, expiresAt: new Date(forged.exp * 1000).toISOString(), user: user.user }),
    });
    const chat = chatClient({ url: server.url, storage });
    const room = await createRoom(server.url, user.token);
    const seed = await sendMessage(server.url, user.token, room.id, 'seed');
    const messages = follow(chat, room.id, seed.id);
    await online(chat);
    const live = await sendMessage(server.url, user.token, room.id, 'live');
    expect((await messages.next()).id).toBe(live.id);
    // issueToken(previousToken) never hands out the claimed user for a token it did not sign.
    expect(chat.session!.user.id).not.toBe(user.user.id);
  });
});

describe('the SDK renews the token inside the open socket', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ tokenTtlSeconds: 3 });
  });
  afterAll(() => server.stop());

  it('a token that expires while connected never shows as a reconnect, and the subscription goes on', async () => {
    const chat = chatClient({ url: server.url });
    const states = statesOf(chat);
    const first = await chat.ready();
    const sender = await issueToken(server.url);
    const room = await createRoom(server.url, sender.token);
    const seed = await sendMessage(server.url, sender.token, room.id, 'seed');
    const messages = follow(chat, room.id, seed.id);
    await online(chat);

    const renewed = new EventQueue<string>('a renewed token');
    chat.on('session', (session) => renewed.push(session.token));
    expect(await renewed.next(5_000)).not.toBe(first.token);
    expect(chat.session!.user).toEqual(first.user);
    // Past the first token's expiry (and the server's sweep of expired sockets).
    await until(() => Date.now() > Date.parse(first.expiresAt) + 1_500, 6_000, 'the first token to have expired');

    const after = await sendMessage(server.url, sender.token, room.id, 'after the first token expired');
    expect((await messages.next()).id).toBe(after.id);
    expect(states).toEqual(['online']);
    expect(chat.state).toBe('online');
  });
});

describe('the SDK resumes messageAdded on every reconnect: no gap, no duplicate', () => {
  let server: TestServer;
  let alice: TestUser;
  let proxy: TcpProxy;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    proxy = await startTcpProxy(server.app.port);
  });
  afterAll(async () => {
    await proxy.close();
    await server.stop();
  });

  it('a network cut mid-stream, three times over, loses nothing and doubles nothing', async () => {
    const chat = chatClient({ url: proxy.url });
    const states = statesOf(chat);
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const messages = follow(chat, room.id, seed.id);
    await online(chat);

    const count = 90;
    await sendMany(server.url, [alice], room.id, count, {
      streams: 3,
      onSent: (_, sent) => {
        if (sent % 30 === 15) proxy.cut();
      },
    });
    const got = await messages.take(count, 20_000);
    expect(got.map((m) => m.id)).toEqual(await historyAfter(server.url, room.id, seed.seq));
    expect(states.filter((s) => s === 'reconnecting').length).toBeGreaterThanOrEqual(1);
    await online(chat);
    // Nothing more arrives: no late duplicate.
    const last = await sendMessage(server.url, alice.token, room.id, 'last');
    expect((await messages.next()).id).toBe(last.id);
  });

  it('after 4008 (slow consumer) it resumes after the last message it delivered', async () => {
    const chat = chatClient({ url: proxy.url });
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const messages = follow(chat, room.id, seed.id);
    const counted = new EventQueue<number>('a participant count');
    chat.participantCount({ roomId: room.id }, { next: (c) => counted.push(c.count) });
    await online(chat);
    await sendMany(server.url, [alice], room.id, 10);
    await messages.take(10);

    const states = statesOf(chat);
    expect(proxy.closeSockets(4008, 'slow consumer')).toBe(1);
    await sendMany(server.url, [alice], room.id, 10);
    const got = await messages.take(10);
    expect([...messages.received].map((m) => m.id)).toEqual(await historyAfter(server.url, room.id, seed.seq));
    expect(got).toHaveLength(10);
    expect(states).toEqual(['reconnecting', 'online']);
    // Other subscriptions come back too (the count is sent again on subscribe).
    await until(() => counted.received.length >= 2, 5_000, 'the participant count after the reconnect');
  });

  it('a subscription without `after` misses nothing across a reconnect either, in a room with history or an empty one', async () => {
    const chat = chatClient({ url: proxy.url });
    const busy = await createRoom(server.url, alice.token);
    await sendMany(server.url, [alice], busy.id, 3);
    const empty = await createRoom(server.url, alice.token);
    const inBusy = follow(chat, busy.id);
    const inEmpty = follow(chat, empty.id);
    // Both subscriptions are live on the server once they count as participants.
    await until(async () => (await participantCountOf(server.url, busy.id)) === 1 && (await participantCountOf(server.url, empty.id)) === 1, 5_000, 'both subscriptions to be live');

    proxy.cut();
    const duringBusy = await sendMany(server.url, [alice], busy.id, 3);
    const duringEmpty = await sendMany(server.url, [alice], empty.id, 3);
    expect((await inBusy.take(3)).map((m) => m.id)).toEqual(duringBusy.map((m) => m.id));
    expect((await inEmpty.take(3)).map((m) => m.id)).toEqual(duringEmpty.map((m) => m.id));
    const after = await sendMessage(server.url, alice.token, empty.id, 'live again');
    expect((await inEmpty.next()).id).toBe(after.id);
    expect(inBusy.received).toHaveLength(3);
  });
});

describe('the SDK subscribing to a room that is empty', () => {
  let server: TestServer;
  let proxy: TcpProxy;
  beforeAll(async () => {
    server = await startServer();
    proxy = await startTcpProxy(server.app.port);
  });
  afterAll(async () => {
    await proxy.close();
    await server.stop();
  });

  it('delivers, in order, what was sent after subscribing but before the socket was up', async () => {
    const alice = await issueToken(server.url);
    const room = await createRoom(server.url, alice.token);
    // HTTP works, the socket cannot connect yet.
    proxy.refuse(true);
    const resumePoint = new EventQueue<void>('the resume point');
    const chat = chatClient({
      url: server.url,
      wsUrl: proxy.wsUrl,
      transport: 'websocket',
      fetchImpl: async (input, init) => {
        const response = await fetch(input, init);
        if (String(init?.body).includes('SdkResumePoint')) resumePoint.push();
        return response;
      },
    });
    const messages = follow(chat, room.id);
    await resumePoint.next();
    const sent = await sendMany(server.url, [alice], room.id, 3, { streams: 1 });
    proxy.refuse(false);
    expect((await messages.take(3)).map((m) => m.id)).toEqual(sent.map((m) => m.id));
    await online(chat);
    const live = await sendMessage(server.url, alice.token, room.id, 'live');
    expect((await messages.next()).id).toBe(live.id);
    expect(messages.received).toHaveLength(4);
  });
});

describe('the SDK across a server restart (1001)', () => {
  it('reconnects to the instance that took over and resumes: every message once, in order', async () => {
    const database = await createTestDatabase();
    const first = await startServer({ database: database.database });
    // The address clients use (a load balancer), in front of whichever instance is up.
    const proxy = await startTcpProxy(first.app.port);
    let second: TestServer | null = null;
    try {
      const alice = await issueToken(first.url);
      const chat = chatClient({ url: proxy.url, retryDelayMs: (attempt) => Math.min(1_000, 100 * (attempt + 1)) });
      const room = await createRoom(first.url, alice.token);
      const seed = await sendMessage(first.url, alice.token, room.id, 'seed');
      const messages = follow(chat, room.id, seed.id);
      await online(chat);
      await sendMany(first.url, [alice], room.id, 5);
      await messages.take(5);
      const states = statesOf(chat);

      await within(first.stop(), 10_000, 'the first instance to stop');
      second = await startServer({ database: database.database });
      proxy.retarget(second.app.port);
      await sendMany(second.url, [alice], room.id, 5);
      await messages.take(5, 15_000);
      expect(messages.received.map((m) => m.id)).toEqual(await historyAfter(second.url, room.id, seed.seq));
      expect(states[0]).toBe('reconnecting');
      await online(chat);
    } finally {
      await proxy.close();
      await first.stop();
      await second?.stop();
      await database.drop();
    }
  });
});

describe('the SDK where WebSocket is blocked', () => {
  let server: TestServer;
  let proxy: TcpProxy;
  let blockedWsUrl: string;
  beforeAll(async () => {
    server = await startServer();
    proxy = await startTcpProxy(server.app.port);
    // A port where nothing listens: every socket fails to open while HTTP works.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    blockedWsUrl = `ws://127.0.0.1:${(probe.address() as AddressInfo).port}/graphql`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });
  afterAll(async () => {
    await proxy.close();
    await server.stop();
  });

  it('falls back to SSE, with the token, and resumes there after a network cut', async () => {
    const chat = chatClient({ url: proxy.url, wsUrl: blockedWsUrl });
    const session = await chat.ready();
    const alice = await issueToken(server.url);
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const messages = follow(chat, room.id, seed.id);
    await online(chat);
    expect(chat.transport).toBe('sse');

    await sendMany(server.url, [alice], room.id, 5);
    await messages.take(5);
    proxy.cut();
    await sendMany(server.url, [alice], room.id, 5);
    await messages.take(5, 15_000);
    expect(messages.received.map((m) => m.id)).toEqual(await historyAfter(server.url, room.id, seed.seq));
    // Sends carry the token over HTTP as ever.
    const own = await chat.sendMessage({ roomId: room.id, body: 'over http' });
    expect(own.sender.id).toBe(session.user.id);
  });

  it('goes back to WebSocket once it works again, and the subscription moves over with no gap and no duplicate', async () => {
    const wsPath = await startTcpProxy(server.app.port);
    try {
      wsPath.refuse(true);
      const chat = chatClient({ url: server.url, wsUrl: wsPath.wsUrl, webSocketRetryMs: () => 300 });
      await chat.ready();
      const alice = await issueToken(server.url);
      const room = await createRoom(server.url, alice.token);
      const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
      const messages = follow(chat, room.id, seed.id);
      await online(chat);
      expect(chat.transport).toBe('sse');
      await sendMany(server.url, [alice], room.id, 3);
      await messages.take(3);

      // The network lets WebSocket through again; messages keep coming meanwhile.
      wsPath.refuse(false);
      const sending = sendMany(server.url, [alice], room.id, 10);
      await until(() => chat.transport === 'websocket', 5_000, 'the client to be back on WebSocket');
      await sending;
      await sendMany(server.url, [alice], room.id, 3);
      await messages.take(13);
      expect(wsPath.open).toBeGreaterThan(0);
      expect(chat.state).toBe('online');
      expect(messages.received.map((m) => m.id)).toEqual(await historyAfter(server.url, room.id, seed.seq));
    } finally {
      await wsPath.close();
    }
  });
});

describe('every operation is a typed call', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('rooms, room, createRoom, sendMessage (idempotent), messages, participantCount and errors as ChatError', async () => {
    const chat = chatClient({ url: server.url, nickname: 'Typed' });
    const lobby = (await chat.rooms({ first: 10 })).edges.find((e) => e.node.title === 'lobby')!.node;
    expect(lobby.participantCount).toBeTypeOf('number');
    const created = await chat.createRoom('typed room');
    expect((await chat.room(created.id))!.title).toBe('typed room');

    const once = await chat.sendMessage({ roomId: created.id, body: 'hello', clientMessageId: 'typed-1' });
    const twice = await chat.sendMessage({ roomId: created.id, body: 'hello', clientMessageId: 'typed-1' });
    expect(twice.id).toBe(once.id);
    const auto = await chat.sendMessage({ roomId: created.id, body: 'no id given' });
    expect(auto.clientMessageId).toMatch(/^[0-9a-f-]{36}$/);
    const page = await chat.messages({ roomId: created.id, last: 10 });
    expect(page.edges.map((e) => e.node.body)).toEqual(['hello', 'no id given']);

    const counts = new EventQueue<number>('a count');
    chat.participantCount({ roomId: created.id }, { next: (c) => counts.push(c.count) });
    follow(chat, created.id);
    await until(() => counts.received.includes(1), 5_000, 'the count to include this client');

    const failure = await chat.sendMessage({ roomId: created.id, body: '   ' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ChatError);
    expect((failure as ChatError).code).toBe('BAD_USER_INPUT');

    const refused = new EventQueue<ChatError>('a subscription error');
    chat.messageAdded({ roomId: '00000000-0000-7000-8000-00000000dead' }, { next: () => {}, error: (e) => refused.push(e) });
    expect((await refused.next()).code).toMatch(/NOT_FOUND|BAD_USER_INPUT|FORBIDDEN/);
  });
});
