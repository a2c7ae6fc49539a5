import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ChatError, createChatClient, type ChatClient, type ChatClientOptions } from 'chat-api/sdk';
import { EventQueue } from './helpers/events.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';

// The additions to the contract (direct rooms, matching, typing, participants, notices,
// moderation) as typed calls and subscriptions of the SDK, against the real server.

const ADMIN_TOKEN = 'operators-token-for-the-sdk-tests-0123456789abcdef';

let server: TestServer;
const clients: ChatClient[] = [];
function chatClient(options: Partial<ChatClientOptions> = {}): ChatClient {
  const chat = createChatClient({ url: server.url, webSocketImpl: WebSocket, retryDelayMs: () => 50, ...options });
  clients.push(chat);
  return chat;
}
beforeAll(async () => {
  server = await startServer({ adminToken: ADMIN_TOKEN });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((chat) => chat.close()));
});
afterAll(() => server.stop());

describe('the SDK speaks the additions', () => {
  it('participants, typing and direct rooms: typed calls and subscriptions', async () => {
    const alice = chatClient({ nickname: 'Alice' });
    const bob = chatClient({ nickname: 'Bob' });
    const [a, b] = [(await alice.ready()).user, (await bob.ready()).user];
    const room = await alice.createRoom('porch');
    alice.messageAdded({ roomId: room.id }, { next: () => {} });
    bob.messageAdded({ roomId: room.id }, { next: () => {} });
    await until(async () => (await alice.participants(room.id))!.participants.length === 2, 5_000, 'both to be here');
    expect((await alice.participants(room.id))!.participants.map((p) => p.handle).sort()).toEqual([a.handle, b.handle].sort());

    const typing = new EventQueue<string[]>('a typing update');
    bob.typing({ roomId: room.id }, { next: (update) => typing.push(update.users.map((u) => u.handle)) });
    expect(await typing.next()).toEqual([]);
    expect(await alice.setTyping(room.id, true)).toBe(true);
    expect(await typing.next()).toEqual([a.handle]);
    await alice.setTyping(room.id, false);
    expect(await typing.next()).toEqual([]);

    const direct = new EventQueue<string>('a direct message');
    bob.directMessageAdded({ next: (m) => direct.push(m.body) });
    const dm = await alice.openDirectRoom(b.id);
    expect(dm.kind).toBe('DIRECT');
    expect(dm.members.map((m) => m.id).sort()).toEqual([a.id, b.id].sort());
    expect((await bob.openDirectRoom(a.id)).id).toBe(dm.id);
    await alice.sendMessage({ roomId: dm.id, body: 'just us' });
    expect(await direct.next()).toBe('just us');
    expect((await bob.directRooms({ first: 10 })).edges.map((e) => e.node.id)).toEqual([dm.id]);

    const carol = chatClient();
    await carol.ready();
    expect(await carol.room(dm.id)).toBeNull();
    const refused = await carol.messages({ roomId: dm.id }).catch((e: unknown) => e);
    expect((refused as ChatError).code).toBe('FORBIDDEN');
  });

  it('setTyping goes over the open socket (no HTTP request), and over HTTP for a client on SSE', async () => {
    const typingPosts: string[] = [];
    const counting = (name: string): ChatClientOptions['fetchImpl'] => (input, init) => {
      if (typeof init?.body === 'string' && init.body.includes('setTyping')) typingPosts.push(name);
      return globalThis.fetch(input, init);
    };
    const alice = chatClient({ nickname: 'Alice', fetchImpl: counting('alice') });
    const carol = chatClient({ nickname: 'Carol', transport: 'sse', fetchImpl: counting('carol') });
    const bob = chatClient({ nickname: 'Bob' });
    const [a, c] = [(await alice.ready()).user, (await carol.ready()).user];
    const room = await bob.createRoom('typing wire');
    const typing = new EventQueue<string[]>('a typing update');
    bob.typing({ roomId: room.id }, { next: (update) => typing.push(update.users.map((u) => u.handle)) });
    expect(await typing.next()).toEqual([]);
    // Alice's socket is up once a subscription of hers runs on it.
    alice.messageAdded({ roomId: room.id }, { next: () => {} });
    await until(() => alice.state === 'online' && alice.transport === 'websocket', 5_000, 'alice online over WebSocket');

    expect(await alice.setTyping(room.id, true)).toBe(true);
    expect(await typing.next()).toEqual([a.handle]);
    expect(await carol.setTyping(room.id, true)).toBe(true);
    expect((await typing.next()).sort()).toEqual([a.handle, c.handle].sort());
    expect(typingPosts).toEqual(['carol']);
    // Refusals come back as ChatError over the socket too.
    const refused = await alice.setTyping('00000000-0000-7000-8000-00000000dead', true).catch((e: unknown) => e);
    expect((refused as ChatError).code).toBe('NOT_FOUND');
    expect(typingPosts).toEqual(['carol']);
  });

  it('matchFound pairs two clients into a new direct room and completes', async () => {
    const alice = chatClient();
    const bob = chatClient();
    const [a, b] = [(await alice.ready()).user, (await bob.ready()).user];
    const matches = new EventQueue<{ room: string; partner: string }>('a match');
    const completed = new EventQueue<string>('a completion');
    for (const [chat, who] of [[alice, 'alice'], [bob, 'bob']] as const) {
      chat.matchFound({ topic: 'sdk-test' }, { next: (m) => matches.push({ room: m.room.id, partner: m.partner.id }), complete: () => completed.push(who) });
    }
    const [first, second] = await matches.take(2);
    expect(first!.room).toBe(second!.room);
    expect([first!.partner, second!.partner].sort()).toEqual([a.id, b.id].sort());
    expect((await completed.take(2)).sort()).toEqual(['alice', 'bob']);
  });

  it('operators: notices reach everyone, slow mode is RATE_LIMITED with retryAfterSeconds, a ban is FORBIDDEN, reports arrive', async () => {
    const operator = chatClient({ token: ADMIN_TOKEN });
    const alice = chatClient();
    const me = (await alice.ready()).user;
    const room = await alice.createRoom('town hall');

    const notices = new EventQueue<string>('a notice');
    alice.notices({ next: (n) => notices.push(n.body) });
    const reports = new EventQueue<string>('a report');
    operator.reports({ next: (r) => reports.push(r.message.body) });
    await until(() => alice.state === 'online' && operator.state === 'online', 5_000, 'both online');
    // Subscriptions start a moment after the socket is up: send until the notice lands.
    await until(async () => (await operator.sendNotice('maintenance at noon'), notices.received.length > 0), 5_000, 'a notice to arrive');
    expect(notices.received[0]).toBe('maintenance at noon');

    expect((await operator.setSlowMode(room.id, 30)).slowModeSeconds).toBe(30);
    await alice.sendMessage({ roomId: room.id, body: 'first' });
    const tooSoon = (await alice.sendMessage({ roomId: room.id, body: 'too soon' }).catch((e: unknown) => e)) as ChatError;
    expect(tooSoon).toBeInstanceOf(ChatError);
    expect(tooSoon.code).toBe('RATE_LIMITED');
    expect(tooSoon.retryAfterSeconds).toBeGreaterThan(0);
    expect(tooSoon.retryAfterSeconds).toBeLessThanOrEqual(30);
    await operator.setSlowMode(room.id, 0);

    expect(await operator.banUser(me.id, 60)).toBe(true);
    const banned = (await alice.sendMessage({ roomId: room.id, body: 'let me speak' }).catch((e: unknown) => e)) as ChatError;
    expect(banned.code).toBe('FORBIDDEN');
    expect(await operator.unbanUser(me.id)).toBe(true);
    const reportable = await alice.sendMessage({ roomId: room.id, body: 'report me' });

    const bob = chatClient();
    await bob.ready();
    await until(async () => (await bob.reportMessage(reportable.id, 'spam'), reports.received.length > 0), 5_000, 'the report to reach the operators');
    expect(reports.received[0]).toBe('report me');

    const forbidden = (await alice.sendNotice('not an operator').catch((e: unknown) => e)) as ChatError;
    expect(forbidden.code).toBe('FORBIDDEN');
  });
});
