import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { idsOf, setTyping, SET_TYPING, sseFirstResult, TYPING, watchTyping, type TypingEvent } from './helpers/typing.js';
import { within } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

/** The contract's lapse: 5 s after the last setTyping(true). */
const LAPSE_MS = 5_000;

const sorted = (...users: TestUser[]) => users.map((u) => u.user.id).sort();

describe('typing', () => {
  let server: TestServer;
  const clients: Client[] = [];
  const connect = (user: TestUser) => {
    const client = wsClient(server.wsUrl, { token: user.token }, { lazyCloseTimeout: 60_000 });
    clients.push(client);
    return client;
  };
  /** One new user per nickname, in order. */
  const users = <const N extends readonly string[]>(...nicknames: N) =>
    Promise.all(nicknames.map((nickname) => issueToken(server.url, { nickname }))) as Promise<{ [K in keyof N]: TestUser }>;

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });
  afterAll(() => server.stop());

  it('over WebSocket: the current set first, then the set on every change, never the subscriber', async () => {
    const [alice, bob, carol] = await users('Alice', 'Bob', 'Carol');
    const room = await createRoom(server.url, alice.token);
    // Bob types before anyone watches: a newcomer is told at once.
    await setTyping(server.url, bob.token, room.id, true);

    const seenByAlice = watchTyping(connect(alice), room.id);
    expect(await seenByAlice.next()).toMatchObject({ roomId: room.id, ids: sorted(bob) });

    await setTyping(server.url, carol.token, room.id, true);
    expect((await seenByAlice.next()).ids).toEqual(sorted(bob, carol));

    // Alice types too: her own subscription is not told (the next thing she sees is Bob stopping).
    await setTyping(server.url, alice.token, room.id, true);
    const seenByCarol = watchTyping(connect(carol), room.id);
    expect((await seenByCarol.next()).ids).toEqual(sorted(alice, bob));
    await setTyping(server.url, bob.token, room.id, false);
    expect((await seenByAlice.next()).ids).toEqual(sorted(carol));
    expect((await seenByCarol.next()).ids).toEqual(sorted(alice));

    // Saying true again while typing changes nothing anyone sees; stopping twice neither.
    await setTyping(server.url, carol.token, room.id, true);
    await setTyping(server.url, bob.token, room.id, false);
    await setTyping(server.url, alice.token, room.id, false);
    expect((await seenByCarol.next()).ids).toEqual([]);
    await setTyping(server.url, carol.token, room.id, false);
    expect((await seenByAlice.next()).ids).toEqual([]);
    expect(seenByAlice.received.map((e) => e.ids)).toEqual([sorted(bob), sorted(bob, carol), sorted(carol), []]);
    expect(seenByCarol.received.map((e) => e.ids)).toEqual([sorted(alice, bob), sorted(alice), []]);
  });

  it('over SSE: the current set first, then the changes, never the subscriber', async () => {
    const [dana, erin] = await users('Dana', 'Erin');
    const room = await createRoom(server.url, dana.token);
    await setTyping(server.url, dana.token, room.id, true);
    const stream = sseSubscribe<TypingEvent>(server.url, TYPING, { roomId: room.id }, dana.token);
    try {
      await stream.ready;
      // Dana is typing, but this is her own stream.
      expect(await stream.next()).toEqual({ typing: { roomId: room.id, users: [] } });
      await setTyping(server.url, erin.token, room.id, true);
      expect(await stream.next()).toEqual({ typing: { roomId: room.id, users: [{ id: erin.user.id, handle: erin.user.handle }] } });
      await setTyping(server.url, erin.token, room.id, false);
      expect(idsOf(await stream.next())).toEqual([]);
    } finally {
      stream.close();
    }
  });

  it('lapses 5 s after the last setTyping(true), not after the first', async () => {
    const [fred, gina] = await users('Fred', 'Gina');
    const room = await createRoom(server.url, fred.token);
    const seen = watchTyping(connect(gina), room.id);
    expect((await seen.next()).ids).toEqual([]);

    await setTyping(server.url, fred.token, room.id, true);
    expect((await seen.next()).ids).toEqual(sorted(fred));
    // Still typing a second later: the lapse now counts from here.
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the user pausing between keystrokes
    const lastTrueAt = Date.now();
    await setTyping(server.url, fred.token, room.id, true);

    const lapsed = await seen.next(LAPSE_MS + 3_000);
    expect(lapsed.ids).toEqual([]);
    expect(lapsed.at - lastTrueAt).toBeGreaterThanOrEqual(LAPSE_MS - 50);
    expect(lapsed.at - lastTrueAt).toBeLessThan(LAPSE_MS + 1_000);
    // A newcomer after the lapse sees nobody typing.
    const late = watchTyping(connect(fred), room.id);
    expect((await late.next()).ids).toEqual([]);
  }, 20_000);

  it('coalesces a room of 1,000 typists to a few updates a second per subscriber, and the final set arrives', async () => {
    const room = await createRoom(server.url, (await issueToken(server.url)).token);
    const typists: TestUser[] = [];
    for (let batch = 0; batch < 20; batch++) typists.push(...(await Promise.all(Array.from({ length: 50 }, () => issueToken(server.url)))));
    const typistIds = new Set(typists.map((t) => t.user.id));
    const [watcher] = await users('Watcher');
    const seen = watchTyping(connect(watcher), room.id);
    // One of the typists watches too, over SSE: they see everyone but themselves.
    const typistStream = sseSubscribe<TypingEvent>(server.url, TYPING, { roomId: room.id }, typists[0]!.token);
    /** All 1,000 say `typing`, 50 requests at a time. */
    const everyoneSays = async (typing: boolean) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          for (let i = next++; i < typists.length; i = next++) await setTyping(server.url, typists[i]!.token, room.id, typing);
        }),
      );
    };
    try {
      expect((await seen.next()).ids).toEqual([]);
      await typistStream.ready;
      expect(idsOf(await typistStream.next())).toEqual([]);

      const startedAt = Date.now();
      await everyoneSays(true);
      await everyoneSays(false);
      const lastChangeAt = Date.now();
      // The final set, nobody, arrives within a second of the last change.
      await within(
        (async () => {
          while ((await seen.next()).ids.length > 0);
        })(),
        1_000,
        'the watcher to see nobody typing',
      );
      await within(
        (async () => {
          while (idsOf(await typistStream.next()).length > 0);
        })(),
        1_000,
        'the typist to see nobody typing',
      );

      // Every update after the first (the set at subscribing) is a change, and no 1-second stretch holds more
      // than a few (the server sends at most one per 300 ms; 5 leaves room for arrivals bunched in transit).
      const updates = seen.received.slice(1);
      expect(Math.max(...updates.map((u) => u.ids.length))).toBeGreaterThan(1);
      for (const [i, update] of updates.entries()) {
        const inSecond = updates.filter((u) => u.at >= update.at && u.at < update.at + 1_000).length;
        expect(inSecond, `updates in the second from update ${i}`).toBeLessThanOrEqual(5);
        expect(update.ids.every((id) => typistIds.has(id))).toBe(true);
      }
      expect(updates.length).toBeLessThanOrEqual(Math.ceil((lastChangeAt - startedAt) / 300) + 2);
      for (let i = 1; i < seen.received.length; i++) expect(seen.received[i]!.ids).not.toEqual(seen.received[i - 1]!.ids);
      expect(typistStream.received.every((event) => !idsOf(event).includes(typists[0]!.user.id))).toBe(true);
    } finally {
      typistStream.close();
    }
  }, 120_000);

  it('needs a token for setTyping and the typing subscription, and an existing room; nothing is held after an error', async () => {
    const [hana] = await users('Hana');
    const room = await createRoom(server.url, hana.token);
    const missing = '00000000-0000-7000-8000-00000000beef';

    expect(errorCode(await gql(server.url, SET_TYPING, { roomId: room.id, typing: true }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(server.url, SET_TYPING, { roomId: room.id, typing: true }, 'not-a-token'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(server.url, SET_TYPING, { roomId: missing, typing: true }, hana.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(server.url, SET_TYPING, { roomId: 'not a room\u0000', typing: true }, hana.token))).toBe('NOT_FOUND');
    expect(errorCode(await gql(server.url, SET_TYPING, { roomId: room.id }, hana.token))).toBe('BAD_USER_INPUT');
    expect(errorCode(await gql(server.url, SET_TYPING, { roomId: room.id, typing: 'yes' }, hana.token))).toBe('BAD_USER_INPUT');

    // Over SSE without a token, and for a room that does not exist: an error, no event.
    expect(errorCode(await sseFirstResult(server.url, TYPING, { roomId: room.id }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await sseFirstResult(server.url, TYPING, { roomId: missing }, hana.token))).toBe('NOT_FOUND');
    const overWs = subscribe(connect(hana), TYPING, { roomId: missing });
    expect(((await overWs.error()) as { extensions: { code: string } }[])[0]!.extensions.code).toBe('NOT_FOUND');
    expect(overWs.received).toEqual([]);

    // The server is unharmed, and a failed subscription held nothing: a good one works as before.
    const seen = watchTyping(connect(hana), room.id);
    expect((await seen.next()).ids).toEqual([]);
  });

  it('in a DIRECT room: only its two members may type or watch; anyone else gets FORBIDDEN before any event', async () => {
    const [ivan, judy, mallory] = await users('Ivan', 'Judy', 'Mallory');
    const opened = await gqlOk<{ openDirectRoom: { id: string } }>(server.url, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: judy.user.id }, ivan.token);
    const roomId = opened.openDirectRoom.id;

    expect(errorCode(await gql(server.url, SET_TYPING, { roomId, typing: true }, mallory.token))).toBe('FORBIDDEN');
    expect(errorCode(await gql(server.url, SET_TYPING, { roomId, typing: true }))).toBe('UNAUTHENTICATED');
    expect(errorCode(await sseFirstResult(server.url, TYPING, { roomId }, mallory.token))).toBe('FORBIDDEN');
    const snooping = subscribe(connect(mallory), TYPING, { roomId });
    expect(((await snooping.error()) as { extensions: { code: string } }[])[0]!.extensions.code).toBe('FORBIDDEN');
    expect(snooping.received).toEqual([]);

    // The members see each other, over WebSocket and SSE.
    const seenByJudy = watchTyping(connect(judy), roomId);
    expect((await seenByJudy.next()).ids).toEqual([]);
    const ivanStream = sseSubscribe<TypingEvent>(server.url, TYPING, { roomId }, ivan.token);
    try {
      await ivanStream.ready;
      expect(idsOf(await ivanStream.next())).toEqual([]);
      await setTyping(server.url, ivan.token, roomId, true);
      expect((await seenByJudy.next()).ids).toEqual(sorted(ivan));
      await setTyping(server.url, judy.token, roomId, true);
      expect(idsOf(await ivanStream.next())).toEqual(sorted(judy));
    } finally {
      ivanStream.close();
    }
  });
});
