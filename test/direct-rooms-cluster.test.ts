import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { Cluster, type Instance } from './helpers/cluster.js';
import { allDirectRooms, DIRECT_MESSAGE_ADDED, openDirectRoom, type DirectMessageEvent } from './helpers/direct-rooms.js';
import { errorCode, gql } from './helpers/graphql.js';
import { dialect, redisUrl } from './helpers/server.js';
import { firstResult } from './helpers/transports.js';
import { until } from './helpers/wait.js';
import { subscribe, type Subscription } from './helpers/ws.js';

describe.skipIf(!redisUrl || dialect !== 'postgres')('direct rooms across two instances', () => {
  const cluster = new Cluster();
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl! });
  }, 60_000);
  afterAll(() => cluster.stop());

  function inboxOn(instance: Instance, user: TestUser): Subscription<DirectMessageEvent> {
    return subscribe<DirectMessageEvent>(instance.client(user), DIRECT_MESSAGE_ADDED);
  }

  /** Probes from `from` on `via` until `inbox` hears one, then a marker; resolves with the events seen by then. */
  async function live(inbox: Subscription<DirectMessageEvent>, via: Instance, from: TestUser, roomId: string): Promise<number> {
    await until(
      async () => {
        if (inbox.received.length > 0) return true;
        await sendMessage(via.url, from.token, roomId, 'probe');
        return false;
      },
      15_000,
      'the inbox to be live across instances',
    );
    const marker = await sendMessage(via.url, from.token, roomId, `marker ${Math.random()}`);
    await until(() => inbox.received.some((e) => e.directMessageAdded.id === marker.id), 5_000, 'the marker');
    return inbox.received.length;
  }

  async function arrivedUntil(inbox: Subscription<DirectMessageEvent>, from: number, last: SentMessage): Promise<string[]> {
    await until(() => inbox.received.some((e) => e.directMessageAdded.id === last.id), 5_000, `"${last.body}" in the inbox`);
    return inbox.received.slice(from).map((e) => e.directMessageAdded.body);
  }

  it('delivers to an inbox on one instance the messages sent on the other, in a room opened there after subscribing', async () => {
    const [alice, prober] = await Promise.all([issueToken(a.url, { nickname: 'Alice' }), issueToken(b.url, { nickname: 'Prober' })]);
    const probeRoom = await openDirectRoom(b.url, prober.token, alice.user.id);
    const inbox = inboxOn(a, alice);
    const mark = await live(inbox, b, prober, probeRoom.id);

    const bob = await issueToken(b.url, { nickname: 'Bob' });
    const room = await openDirectRoom(b.url, bob.token, alice.user.id);
    const bobsInbox = inboxOn(b, bob);
    const bobsMark = await live(bobsInbox, a, alice, room.id);

    await sendMessage(b.url, bob.token, room.id, 'hello from B');
    const own = await sendMessage(a.url, alice.token, room.id, 'alice answers on A');
    const last = await sendMessage(b.url, bob.token, room.id, 'bob again on B');
    expect(await arrivedUntil(inbox, mark, last)).toEqual(['hello from B', 'bob again on B']);
    expect(await arrivedUntil(bobsInbox, bobsMark, own)).toEqual(['alice answers on A']);
  });

  it('makes one room when both sides open it at once on different instances', async () => {
    for (let pair = 0; pair < 3; pair++) {
      const [x, y] = await Promise.all([issueToken(a.url), issueToken(b.url)]);
      const rooms = await Promise.all(
        Array.from({ length: 10 }, (_, n) => (n % 2 === 0 ? openDirectRoom(a.url, x.token, y.user.id) : openDirectRoom(b.url, y.token, x.user.id))),
      );
      expect(new Set(rooms.map((r) => r.id)).size).toBe(1);
      expect((await allDirectRooms(b.url, x.token)).map((r) => r.id)).toEqual([rooms[0]!.id]);
      expect((await allDirectRooms(a.url, y.token)).map((r) => r.id)).toEqual([rooms[0]!.id]);
    }
  });

  it('holds the access rule on the instance that did not make the room, and orders directRooms by activity on either', async () => {
    const [alice, bob, carol, eve] = await Promise.all([issueToken(a.url), issueToken(a.url), issueToken(a.url), issueToken(b.url)]);
    const withBob = await openDirectRoom(a.url, alice.token, bob.user.id);
    const withCarol = await openDirectRoom(a.url, alice.token, carol.user.id);
    expect(errorCode(await gql(b.url, 'mutation($r: ID!) { sendMessage(input: { roomId: $r, body: "hi" }) { id } }', { r: withBob.id }, eve.token))).toBe('FORBIDDEN');
    expect(await gql(b.url, 'query($id: ID!) { room(id: $id) { id } }', { id: withBob.id }, eve.token)).toEqual({ data: { room: null } });
    const refused = await firstResult('ws', { url: b.url, wsUrl: b.wsUrl }, 'subscription($r: ID!) { messageAdded(roomId: $r) { id } }', { r: withBob.id }, eve.token);
    expect(errorCode(refused)).toBe('FORBIDDEN');

    expect((await allDirectRooms(b.url, alice.token)).map((r) => r.id)).toEqual([withCarol.id, withBob.id]);
    await sendMessage(b.url, bob.token, withBob.id, 'bob is active, on B');
    expect((await allDirectRooms(a.url, alice.token)).map((r) => r.id)).toEqual([withBob.id, withCarol.id]);
  });
});
