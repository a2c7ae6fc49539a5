import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { PARTICIPANTS } from './helpers/typing.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ROOM_FEED = 'subscription($roomId: ID!) { messageAdded(roomId: $roomId) { id } }';
const COUNT_FEED = 'subscription($roomId: ID!) { participantCount(roomId: $roomId) { count } }';

interface Here {
  room: { participantCount: number; participants: { id: string; handle: string }[] } | null;
}

describe('Room.participants', () => {
  let server: TestServer;
  const clients: Client[] = [];
  const connect = (user: TestUser) => {
    const client = wsClient(server.wsUrl, { token: user.token }, { lazyCloseTimeout: 60_000 });
    clients.push(client);
    return client;
  };
  /** Who the room lists, as ids (the list has no order), and its count, in one query. */
  const here = async (roomId: string, first?: number, token?: string) => {
    const { room } = await gqlOk<Here>(server.url, PARTICIPANTS, { id: roomId, first }, token);
    return { count: room!.participantCount, ids: room!.participants.map((u) => u.id).sort() };
  };
  const idsOf = (...users: TestUser[]) => users.map((u) => u.user.id).sort();
  const untilHere = (roomId: string, users: TestUser[], what: string) =>
    until(async () => JSON.stringify((await here(roomId)).ids) === JSON.stringify(idsOf(...users)), 5_000, what);

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => server.stop());

  it('lists the distinct users participantCount counts: once per user, over WebSocket and SSE, not those who only watch', async () => {
    const [alice, bob, carol] = (await Promise.all(['Alice', 'Bob', 'Carol'].map((nickname) => issueToken(server.url, { nickname })))) as [TestUser, TestUser, TestUser];
    const room = await createRoom(server.url, alice.token);
    expect(await here(room.id)).toEqual({ count: 0, ids: [] });

    // Carol only watches the count: she is not "here".
    subscribe(connect(carol), COUNT_FEED, { roomId: room.id });
    // Alice on a laptop and a phone.
    const laptop = subscribe(connect(alice), ROOM_FEED, { roomId: room.id });
    const phone = subscribe(connect(alice), ROOM_FEED, { roomId: room.id });
    await untilHere(room.id, [alice], 'Alice to be here');
    // Bob over SSE.
    const bobStream = sseSubscribe(server.url, ROOM_FEED, { roomId: room.id }, bob.token);
    try {
      await bobStream.ready;
      await untilHere(room.id, [alice, bob], 'Alice and Bob to be here');
      expect(await here(room.id)).toEqual({ count: 2, ids: idsOf(alice, bob) });
      const { room: listed } = await gqlOk<Here>(server.url, PARTICIPANTS, { id: room.id });
      expect(listed!.participants.find((u) => u.id === bob.user.id)).toEqual({ id: bob.user.id, handle: bob.user.handle });

      // Alice closes the room on her phone: still here on her laptop.
      phone.unsubscribe();
      await until(async () => (await here(room.id)).count === 2, 2_000, 'the count to settle');
      expect((await here(room.id)).ids).toEqual(idsOf(alice, bob));
      laptop.unsubscribe();
      await untilHere(room.id, [bob], 'only Bob to be here');
    } finally {
      bobStream.close();
    }
    await untilHere(room.id, [], 'nobody to be here');
    expect(await here(room.id)).toEqual({ count: 0, ids: [] });
  });

  it('gives at most `first`: 50 by default, up to 100; anything else is BAD_USER_INPUT', async () => {
    const crowd = await Promise.all(Array.from({ length: 60 }, (_, i) => issueToken(server.url, { nickname: `Guest${i}` })));
    const room = await createRoom(server.url, crowd[0]!.token);
    for (const guest of crowd) subscribe(connect(guest), ROOM_FEED, { roomId: room.id });
    await until(async () => (await here(room.id, 100)).count === 60, 10_000, 'all 60 to be here');

    const everyone = new Set(idsOf(...crowd));
    const byDefault = await here(room.id);
    expect(byDefault.ids).toHaveLength(50);
    expect(new Set(byDefault.ids).size).toBe(50);
    expect(byDefault.ids.every((id) => everyone.has(id))).toBe(true);
    expect((await here(room.id, 10)).ids).toHaveLength(10);
    expect((await here(room.id, 100)).ids).toEqual([...everyone].sort());

    for (const first of [0, -1, 101]) {
      const result = await gql(server.url, PARTICIPANTS, { id: room.id, first });
      expect(errorCode(result), `first: ${first}`).toBe('BAD_USER_INPUT');
    }
  });

  it('in a DIRECT room: the members see who is here; anyone else learns nothing', async () => {
    const [dana, erin, mallory] = (await Promise.all(['Dana', 'Erin', 'Mallory'].map((nickname) => issueToken(server.url, { nickname })))) as [TestUser, TestUser, TestUser];
    const opened = await gqlOk<{ openDirectRoom: { id: string; participants: { id: string }[] } }>(
      server.url,
      'mutation($u: ID!) { openDirectRoom(userId: $u) { id participants { id } } }',
      { u: erin.user.id },
      dana.token,
    );
    const roomId = opened.openDirectRoom.id;
    expect(opened.openDirectRoom.participants).toEqual([]);

    subscribe(connect(erin), ROOM_FEED, { roomId });
    await until(async () => (await here(roomId, undefined, dana.token)).count === 1, 5_000, 'Erin to be here');
    expect(await here(roomId, undefined, dana.token)).toEqual({ count: 1, ids: idsOf(erin) });
    expect(await here(roomId, undefined, erin.token)).toEqual({ count: 1, ids: idsOf(erin) });

    // Someone else, with or without a token, gets no room at all.
    for (const token of [mallory.token, undefined]) {
      const result = await gql<Here>(server.url, PARTICIPANTS, { id: roomId }, token);
      expect(result.data?.room ?? null).toBeNull();
    }
  });
});
