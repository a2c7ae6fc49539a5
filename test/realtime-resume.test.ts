import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { allMessages } from './helpers/pages.js';
import { sendMany } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { deferred, within } from './helpers/wait.js';
import { subscribe, wsClient, type Subscription } from './helpers/ws.js';

const ROOM_FEED = `subscription($roomId: ID!, $after: ID) {
  messageAdded(roomId: $roomId, after: $after) { id seq body }
}`;

interface FeedEvent {
  messageAdded: { id: string; seq: number; body: string };
}

describe('resuming a room feed with `after`', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  const clients: Client[] = [];
  const follow = (user: TestUser, roomId: string, after: string): Subscription<FeedEvent> => {
    const client = wsClient(server.wsUrl, { token: user.token });
    clients.push(client);
    return subscribe<FeedEvent>(client, ROOM_FEED, { roomId, after });
  };
  const ids = (events: FeedEvent[]) => events.map((e) => e.messageAdded.id);

  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    bob = await issueToken(server.url, { nickname: 'Bob' });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
  });
  afterAll(() => server.stop());

  it('gives a client back exactly the 30 messages it missed while away, in order, then live ones', async () => {
    const room = await createRoom(server.url, alice.token);
    const opening = await sendMessage(server.url, alice.token, room.id, 'welcome');
    const firstVisit = follow(bob, room.id, opening.id);
    const before = await sendMany(server.url, [alice], room.id, 5, { streams: 1 });
    const seen = await firstVisit.take(5);
    expect(ids(seen)).toEqual(before.map((m) => m.id));
    await Promise.all(clients.splice(0).map((c) => c.dispose()));

    const missed = await sendMany(server.url, [alice], room.id, 30, { streams: 3, body: (n) => `while Bob was away ${n}` });
    const lastSeen = seen.at(-1)!.messageAdded.id;
    const back = follow(bob, room.id, lastSeen);
    expect(ids(await back.take(30))).toEqual(missed.map((m) => m.id));

    const live: SentMessage[] = [];
    for (const body of ['welcome back', 'we missed you']) live.push(await sendMessage(server.url, alice.token, room.id, body));
    expect(ids(await back.take(2))).toEqual(live.map((m) => m.id));
    expect(back.received).toHaveLength(32);
  });

  it('misses nothing and doubles nothing when messages race the replay', async () => {
    const room = await createRoom(server.url, alice.token, 'racing');
    const opening = await sendMessage(server.url, alice.token, room.id, 'go');
    const earlier = await sendMany(server.url, [alice], room.id, 20, { streams: 1 });

    // Several clients come back at different moments while 100 messages stream in,
    // each resuming after a different message it had seen.
    const resumePoints = [opening, earlier[4]!, earlier[12]!, earlier[19]!];
    const returning: { after: SentMessage; feed: Subscription<FeedEvent> }[] = [];
    const resumeAt = new Map([5, 25, 50, 75].map((sentSoFar, i) => [sentSoFar, resumePoints[i]!]));
    const allResumed = deferred();
    const racing = sendMany(server.url, [alice, bob], room.id, 100, {
      streams: 3,
      onSent: (_message, sentSoFar) => {
        const after = resumeAt.get(sentSoFar);
        if (!after) return;
        returning.push({ after, feed: follow(bob, room.id, after.id) });
        if (returning.length === resumeAt.size) allResumed.resolve();
      },
    });
    await racing;
    await within(allResumed.promise, 1_000, 'every client to resume');
    const history = await allMessages(server.url, room.id);

    for (const { after, feed } of returning) {
      const expected = history.filter((m) => m.seq > after.seq).map((m) => m.id);
      expect(ids(await feed.take(expected.length, 20_000)), `resumed after seq ${after.seq}`).toEqual(expected);
    }
    // Nothing doubled trails behind: the next event each gets is the next message.
    const last = await sendMessage(server.url, alice.token, room.id, 'the end');
    for (const { feed } of returning) expect((await feed.next()).messageAdded.id).toBe(last.id);
  });
});
