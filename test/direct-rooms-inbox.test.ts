import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { DIRECT_MESSAGE_ADDED, openDirectRoom, type DirectMessageEvent } from './helpers/direct-rooms.js';
import { sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

/**
 * directMessageAdded: the new messages of all the subscriber's direct rooms,
 * rooms opened after subscribing included, never the subscriber's own.
 */

type Inbox = { received: DirectMessageEvent[]; close(): void };
type Message = DirectMessageEvent['directMessageAdded'];

const bodies = (events: DirectMessageEvent[]) => events.map((e) => e.directMessageAdded.body);

describe.each(['graphql-ws', 'SSE'] as const)('directMessageAdded over %s', (transport) => {
  let server: TestServer;
  let alice: TestUser;
  /** Sends into Alice's inbox until it is seen to be live. */
  let prober: TestUser;
  let probeRoomId: string;
  const clients: Client[] = [];
  const open: Inbox[] = [];
  beforeAll(async () => {
    server = await startServer();
    [alice, prober] = await Promise.all([issueToken(server.url, { nickname: 'Alice' }), issueToken(server.url, { nickname: 'Prober' })]);
    probeRoomId = (await openDirectRoom(server.url, prober.token, alice.user.id)).id;
  });
  afterEach(async () => {
    for (const inbox of open.splice(0)) inbox.close();
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => server.stop());

  function inboxOf(user: TestUser): Inbox {
    if (transport === 'SSE') {
      const stream = sseSubscribe<DirectMessageEvent>(server.url, DIRECT_MESSAGE_ADDED, {}, user.token);
      const inbox = { received: stream.received, close: () => stream.close() };
      open.push(inbox);
      return inbox;
    }
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${user.token}` });
    clients.push(client);
    const subscription = subscribe<DirectMessageEvent>(client, DIRECT_MESSAGE_ADDED);
    const inbox = { received: subscription.received, close: () => subscription.unsubscribe() };
    open.push(inbox);
    return inbox;
  }

  /**
   * Waits until `inbox` (of `owner`) is live, proven by a message reaching it
   * from `from` in `roomId`, then by a last marker; resolves with how many
   * events it had by then, so the test reads only what comes after.
   */
  async function live(inbox: Inbox, from: TestUser, roomId: string): Promise<number> {
    await until(
      async () => {
        if (inbox.received.length > 0) return true;
        await sendMessage(server.url, from.token, roomId, 'probe');
        return false;
      },
      10_000,
      'the inbox to be live',
    );
    const marker = await sendMessage(server.url, from.token, roomId, `marker ${Math.random()}`);
    await until(() => inbox.received.some((e) => e.directMessageAdded.id === marker.id), 5_000, 'the marker');
    return inbox.received.length;
  }

  /** Resolves with what arrived after `from` once `last` has arrived. */
  async function arrivedUntil(inbox: Inbox, from: number, last: SentMessage): Promise<Message[]> {
    await until(() => inbox.received.some((e) => e.directMessageAdded.id === last.id), 5_000, `message "${last.body}" in the inbox`);
    return inbox.received.slice(from).map((e) => e.directMessageAdded);
  }

  it('delivers messages of a room the partner opens after the subscriber subscribed', async () => {
    const inbox = inboxOf(alice);
    const mark = await live(inbox, prober, probeRoomId);
    // Bob did not exist when Alice subscribed; neither did the room.
    const bob = await issueToken(server.url, { nickname: 'Bob' });
    const room = await openDirectRoom(server.url, bob.token, alice.user.id);
    const first = await sendMessage(server.url, bob.token, room.id, 'hi Alice');
    const second = await sendMessage(server.url, bob.token, room.id, 'are you there?');
    const arrived = await arrivedUntil(inbox, mark, second);
    expect(arrived).toEqual([first, second].map((m) => ({ id: m.id, roomId: room.id, seq: m.seq, body: m.body, sender: { id: bob.user.id, handle: bob.user.handle } })));
  });

  it('delivers messages of a room made by random matching after subscribing', async () => {
    const inbox = inboxOf(alice);
    const mark = await live(inbox, prober, probeRoomId);
    const stranger = await issueToken(server.url);
    const matched = await server.app.services.rooms.createDirectRoom(stranger.user.id, alice.user.id);
    const hello = await sendMessage(server.url, stranger.token, matched.id, 'hello, stranger');
    expect((await arrivedUntil(inbox, mark, hello)).map((m) => [m.roomId, m.body])).toEqual([[matched.id, 'hello, stranger']]);
  });

  it('never delivers the subscriber’s own messages, nor other people’s rooms, nor public rooms', async () => {
    const [bob, carol] = await Promise.all([issueToken(server.url), issueToken(server.url)]);
    const withBob = await openDirectRoom(server.url, alice.token, bob.user.id);
    const bobAndCarol = await openDirectRoom(server.url, bob.token, carol.user.id);
    const lobby = await createRoom(server.url, alice.token);
    const inbox = inboxOf(alice);
    const bobsInbox = inboxOf(bob);
    const mark = await live(inbox, prober, probeRoomId);
    const bobsMark = await live(bobsInbox, alice, withBob.id);

    const own = await sendMessage(server.url, alice.token, withBob.id, 'my own words');
    await sendMessage(server.url, bob.token, bobAndCarol.id, 'between bob and carol');
    await sendMessage(server.url, carol.token, bobAndCarol.id, 'carol answers bob');
    await sendMessage(server.url, bob.token, lobby.id, 'in a public room');
    await sendMessage(server.url, alice.token, lobby.id, 'alice in public');
    const reply = await sendMessage(server.url, bob.token, withBob.id, 'bob answers alice');
    const last = await sendMessage(server.url, alice.token, withBob.id, 'alice has the last word');

    // Each check waits for a message sent after everything that must not arrive, which had its chance first.
    expect((await arrivedUntil(inbox, mark, reply)).map((m) => m.body)).toEqual(['bob answers alice']);
    // Bob's inbox: Alice's messages and Carol's, never his own.
    expect((await arrivedUntil(bobsInbox, bobsMark, last)).map((m) => m.body)).toEqual(['my own words', 'carol answers bob', 'alice has the last word']);
    expect(own.sender.id).toBe(alice.user.id);
  });

  it('reaches every open inbox of the recipient, in each room’s order', async () => {
    const dave = await issueToken(server.url);
    const room = await openDirectRoom(server.url, dave.token, alice.user.id);
    const inboxes = [inboxOf(alice), inboxOf(alice)];
    const marks = [await live(inboxes[0]!, prober, probeRoomId), 0];
    marks[1] = await live(inboxes[1]!, prober, probeRoomId);
    const sent: SentMessage[] = [];
    for (let n = 0; n < 20; n++) sent.push(await sendMessage(server.url, dave.token, room.id, `burst ${n}`));
    for (const [index, inbox] of inboxes.entries()) {
      const arrived = (await arrivedUntil(inbox, marks[index]!, sent.at(-1)!)).filter((m) => m.roomId === room.id);
      expect(arrived.map((m) => m.seq)).toEqual(sent.map((m) => m.seq));
    }
  });

  it('releases the stream on the server when the subscriber leaves; the user’s other inbox goes on', async () => {
    const streams = server.app.services.openStreams;
    const erin = await issueToken(server.url);
    const room = await openDirectRoom(server.url, erin.token, alice.user.id);
    const before = streams.size;
    const staying = inboxOf(alice);
    const leaving = inboxOf(alice);
    await live(leaving, prober, probeRoomId);
    const mark = await live(staying, prober, probeRoomId);
    expect(streams.size).toBe(before + 2);
    leaving.close();
    await until(() => streams.size === before + 1, 5_000, 'the left inbox stream to be released');
    const after = await sendMessage(server.url, erin.token, room.id, 'after leaving');
    expect((await arrivedUntil(staying, mark, after)).map((m) => m.body)).toEqual(['after leaving']);
  });
});
