import { Migrator } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/database.js';
import { connectDatabase } from '../src/infrastructure/db/connect.js';
import * as initial from '../src/infrastructure/db/migrations/2026_11_23_0001_initial.js';
import * as deployment from '../src/infrastructure/db/migrations/2026_11_23_0002_deployment.js';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { allDirectRooms, directRoomsPage, OPEN_DIRECT_ROOM, openDirectRoom, type DirectRoom } from './helpers/direct-rooms.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { allRooms } from './helpers/pages.js';
import { createTestDatabase, dialect, startServer, type TestServer } from './helpers/server.js';

const NO_SUCH_USER = '01900000-0000-7000-8000-000000000000';

/** Resolves once the clock has moved past `ms`: activity is kept to the millisecond. */
async function pastMillisecond(ms = Date.now()): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setImmediate(resolve));
}

/** How many DIRECT rooms and memberships are stored: what "one row" means, read where it is kept. */
async function storedDirectRooms(server: TestServer): Promise<{ rooms: number; memberships: number }> {
  const db = connectDatabase<Database>(server.config.database);
  try {
    const rooms = await db.selectFrom('rooms').select((eb) => eb.fn.countAll<string | number>().as('n')).where('kind', '=', 'DIRECT').executeTakeFirstOrThrow();
    const memberships = await db.selectFrom('room_members').select((eb) => eb.fn.countAll<string | number>().as('n')).executeTakeFirstOrThrow();
    return { rooms: Number(rooms.n), memberships: Number(memberships.n) };
  } finally {
    await db.destroy();
  }
}

describe('openDirectRoom', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([issueToken(server.url, { nickname: 'Alice' }), issueToken(server.url, { nickname: 'Bob' })]);
  });
  afterAll(() => server.stop());

  it('makes a DIRECT room whose members are the two users, titled with their handles', async () => {
    const room = await openDirectRoom(server.url, alice.token, bob.user.id);
    expect(room.kind).toBe('DIRECT');
    expect(room.members.map((m) => m.id).sort()).toEqual([alice.user.id, bob.user.id].sort());
    expect(room.members.map((m) => m.handle).sort()).toEqual([alice.user.handle, bob.user.handle].sort());
    expect(room.title).toContain(alice.user.handle);
    expect(room.title).toContain(bob.user.handle);
    const read = await gqlOk(server.url, 'query($id: ID!) { room(id: $id) { id title kind members { id handle } } }', { id: room.id }, bob.token);
    expect(read.room).toEqual(room);
  });

  it('answers the same room on every later call, whichever of the two asks', async () => {
    const carol = await issueToken(server.url);
    const first = await openDirectRoom(server.url, alice.token, carol.user.id);
    expect(await openDirectRoom(server.url, alice.token, carol.user.id)).toEqual(first);
    expect(await openDirectRoom(server.url, carol.token, alice.user.id)).toEqual(first);
    expect((await allDirectRooms(server.url, carol.token)).map((r) => r.id)).toEqual([first.id]);
  });

  it('makes one room, stored once, when both sides ask many times at the same moment', async () => {
    const before = await storedDirectRooms(server);
    // On PostgreSQL a second server on the same database, with its own connections and caches, takes half the calls.
    const other = dialect === 'postgres' ? await startServer({ database: server.config.database }) : server;
    try {
      const pairs = await Promise.all(Array.from({ length: 5 }, async () => [await issueToken(server.url), await issueToken(server.url)] as const));
      const opened = await Promise.all(
        pairs.map(([x, y]) =>
          Promise.all(
            Array.from({ length: 12 }, (_, n) => {
              const [caller, partner] = n % 2 === 0 ? [x, y] : [y, x];
              return openDirectRoom((n % 4 < 2 ? server : other).url, caller.token, partner.user.id);
            }),
          ),
        ),
      );
      for (const [index, rooms] of opened.entries()) {
        expect(new Set(rooms.map((r) => r.id)).size, `pair ${index}`).toBe(1);
        const [x, y] = pairs[index]!;
        expect((await allDirectRooms(server.url, x.token)).map((r) => r.id)).toEqual([rooms[0]!.id]);
        expect((await allDirectRooms(other.url, y.token)).map((r) => r.id)).toEqual([rooms[0]!.id]);
      }
      expect(await storedDirectRooms(server)).toEqual({ rooms: before.rooms + 5, memberships: before.memberships + 10 });
    } finally {
      if (other !== server) await other.stop();
    }
  });

  it('meets at the pair key when calls start in the same tick (SQLite serves HTTP requests one by one)', async () => {
    const before = await storedDirectRooms(server);
    const [x, y] = [await issueToken(server.url), await issueToken(server.url)];
    const caller = (test: TestUser) => ({ id: test.user.id, nickname: test.user.nickname, tag: test.user.tag, handle: test.user.handle });
    const rooms = server.app.services.rooms;
    const opened = await Promise.all([rooms.openDirectRoom(caller(x), y.user.id), rooms.openDirectRoom(caller(y), x.user.id), rooms.openDirectRoom(caller(x), y.user.id)]);
    expect(new Set(opened.map((r) => r.id)).size).toBe(1);
    expect(await storedDirectRooms(server)).toEqual({ rooms: before.rooms + 1, memberships: before.memberships + 2 });
  });

  it('answers the pair’s room from a second server that has never seen it', async () => {
    const carol = await issueToken(server.url);
    const room = await openDirectRoom(server.url, carol.token, bob.user.id);
    const other = await startServer({ database: server.config.database });
    try {
      expect(await openDirectRoom(other.url, bob.token, carol.user.id)).toEqual(room);
    } finally {
      await other.stop();
    }
  });

  it('refuses the caller as their own partner, with BAD_USER_INPUT, and stores nothing', async () => {
    const before = await storedDirectRooms(server);
    const result = await gql(server.url, OPEN_DIRECT_ROOM, { userId: alice.user.id }, alice.token);
    expect(errorCode(result)).toBe('BAD_USER_INPUT');
    expect(result.data ?? null).toBeNull();
    expect(await storedDirectRooms(server)).toEqual(before);
  });

  it('answers NOT_FOUND for a user that does not exist, whatever the id looks like, and stores nothing', async () => {
    const before = await storedDirectRooms(server);
    for (const userId of [NO_SUCH_USER, 'nope', '', 'x'.repeat(5000), 'nul\u0000byte', `${alice.user.id} `, alice.user.id.toUpperCase()]) {
      const result = await gql(server.url, OPEN_DIRECT_ROOM, { userId }, alice.token);
      expect(errorCode(result), JSON.stringify(userId.slice(0, 20))).toBe('NOT_FOUND');
      expect(result.data ?? null).toBeNull();
    }
    expect(await storedDirectRooms(server)).toEqual(before);
    // And the server is fine afterwards.
    expect((await openDirectRoom(server.url, bob.token, alice.user.id)).kind).toBe('DIRECT');
  });

  it('needs a token: UNAUTHENTICATED without one or with a bad one, and stores nothing', async () => {
    const before = await storedDirectRooms(server);
    for (const token of [null, 'not-a-token']) {
      const result = await gql(server.url, OPEN_DIRECT_ROOM, { userId: bob.user.id }, token);
      expect(errorCode(result)).toBe('UNAUTHENTICATED');
    }
    expect(await storedDirectRooms(server)).toEqual(before);
  });
});

describe('room kinds', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([issueToken(server.url), issueToken(server.url)]);
  });
  afterAll(() => server.stop());

  it('shows PUBLIC with no members for the lobby and for created rooms', async () => {
    const created = await createRoom(server.url, alice.token, 'book club');
    const data = await gqlOk(server.url, '{ rooms(first: 100) { edges { node { id kind members { id } } } } }');
    expect(data.rooms.edges.map((e: { node: unknown }) => e.node)).toEqual([
      { id: expect.any(String), kind: 'PUBLIC', members: [] },
      { id: created.id, kind: 'PUBLIC', members: [] },
    ]);
  });

  it('never lists DIRECT rooms in Query.rooms, for anyone, however many there are', async () => {
    const publicBefore = await allRooms(server.url);
    const partners = await Promise.all(Array.from({ length: 30 }, () => issueToken(server.url)));
    const direct = await Promise.all(partners.map((partner) => openDirectRoom(server.url, alice.token, partner.user.id)));
    const matched = await server.app.services.rooms.createDirectRoom(alice.user.id, bob.user.id);
    const later = await createRoom(server.url, bob.token, 'after the direct ones');
    const directIds = new Set([...direct.map((r) => r.id), matched.id]);
    for (const token of [null, alice.token, partners[0]!.token]) {
      const pages: string[] = [];
      let after: string | null = null;
      // Small pages, so a page made of direct rooms alone would show.
      for (;;) {
        const data: { rooms: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } } = await gqlOk(
          server.url,
          'query($after: String) { rooms(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
          { after },
          token,
        );
        pages.push(...data.rooms.edges.map((e) => e.node.id));
        if (!data.rooms.pageInfo.hasNextPage) break;
        after = data.rooms.pageInfo.endCursor;
      }
      expect(pages).toEqual([...publicBefore.map((r) => r.id), later.id]);
      expect(pages.some((id) => directIds.has(id))).toBe(false);
    }
  });
});

describe('upgrading a database made before direct rooms', () => {
  it('keeps its rooms PUBLIC and listed, active since they were made, and serves direct rooms next to them', async () => {
    const database = await createTestDatabase();
    try {
      const db = connectDatabase<Database>(database.database);
      const provider = { getMigrations: async () => ({ '2026_11_23_0001_initial': initial, '2026_11_23_0002_deployment': deployment }) };
      const { error } = await new Migrator({ db, provider }).migrateToLatest();
      expect(error).toBeUndefined();
      const createdAt = '2026-11-24T08:00:00.000Z';
      await db.insertInto('rooms').values({ id: '01900000-0000-7000-8000-0000000000aa', title: 'old room', created_at: createdAt, last_seq: 0 } as never).execute();
      await db.destroy();

      const server = await startServer({ database: database.database });
      try {
        const old = (await gqlOk(server.url, 'query($id: ID!) { room(id: $id) { id title kind members { id } } }', { id: '01900000-0000-7000-8000-0000000000aa' })).room;
        expect(old).toEqual({ id: '01900000-0000-7000-8000-0000000000aa', title: 'old room', kind: 'PUBLIC', members: [] });
        expect((await allRooms(server.url)).map((r) => r.title)).toEqual(['lobby', 'old room']);
        const check = connectDatabase<Database>(database.database);
        const row = await check.selectFrom('rooms').select(['kind', 'direct_key', 'last_activity_at']).where('id', '=', old.id).executeTakeFirstOrThrow();
        await check.destroy();
        expect(row).toEqual({ kind: 'PUBLIC', direct_key: null, last_activity_at: createdAt });
        const [x, y] = [await issueToken(server.url), await issueToken(server.url)];
        expect((await openDirectRoom(server.url, x.token, y.user.id)).kind).toBe('DIRECT');
        await sendMessage(server.url, x.token, old.id, 'still works');
      } finally {
        await server.stop();
      }
    } finally {
      await database.drop();
    }
  });
});

describe('createDirectRoom (for random matching)', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startServer();
    [alice, bob] = await Promise.all([issueToken(server.url), issueToken(server.url)]);
  });
  afterAll(() => server.stop());

  it('makes a fresh DIRECT room on every call, apart from the pair’s openDirectRoom room, listed for both', async () => {
    const rooms = server.app.services.rooms;
    const pairRoom = await openDirectRoom(server.url, alice.token, bob.user.id);
    const first = await rooms.createDirectRoom(alice.user.id, bob.user.id);
    const second = await rooms.createDirectRoom(bob.user.id, alice.user.id);
    expect(new Set([pairRoom.id, first.id, second.id]).size).toBe(3);
    expect(first.kind).toBe('DIRECT');
    expect(first.members.map((m) => m.id).sort()).toEqual([alice.user.id, bob.user.id].sort());
    // openDirectRoom still answers the pair's own room.
    expect((await openDirectRoom(server.url, bob.token, alice.user.id)).id).toBe(pairRoom.id);
    for (const user of [alice, bob]) {
      expect((await allDirectRooms(server.url, user.token)).map((r) => r.id).sort()).toEqual([pairRoom.id, first.id, second.id].sort());
    }
    // The access rule holds for it as for any direct room.
    const carol = await issueToken(server.url);
    const refused = await gql(server.url, 'mutation($r: ID!) { sendMessage(input: { roomId: $r, body: "hi" }) { id } }', { r: first.id }, carol.token);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect((await sendMessage(server.url, bob.token, first.id, 'hello, stranger')).seq).toBe(1);
  });

  it('refuses one user twice and users that do not exist', async () => {
    const rooms = server.app.services.rooms;
    await expect(rooms.createDirectRoom(alice.user.id, alice.user.id)).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    await expect(rooms.createDirectRoom(alice.user.id, NO_SUCH_USER)).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    await expect(rooms.createDirectRoom('bad\u0000id', bob.user.id)).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
  });
});

describe('directRooms', () => {
  let server: TestServer;
  let alice: TestUser;
  let partners: TestUser[];
  /** Alice's rooms with partners[0..4], in the order they were opened. */
  let rooms: DirectRoom[];
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    partners = await Promise.all(Array.from({ length: 5 }, (_, n) => issueToken(server.url, { nickname: `Partner ${n}` })));
    rooms = [];
    for (const partner of partners) {
      await pastMillisecond();
      rooms.push(await openDirectRoom(server.url, alice.token, partner.user.id));
    }
  });
  afterAll(() => server.stop());

  const idsOf = async (token: string, first?: number) => (await allDirectRooms(server.url, token, first)).map((r) => r.id);
  /** A message in the room, from `sender`, on a later millisecond than anything before. */
  const activity = async (sender: TestUser, room: DirectRoom) => {
    await pastMillisecond();
    await sendMessage(server.url, sender.token, room.id, 'news');
  };

  it('lists the newest room first while none has messages, and only the caller’s rooms', async () => {
    expect(await idsOf(alice.token)).toEqual(rooms.map((r) => r.id).reverse());
    expect(await idsOf(partners[2]!.token)).toEqual([rooms[2]!.id]);
    expect(await idsOf((await issueToken(server.url)).token)).toEqual([]);
  });

  it('puts the room with the newest message first, whoever sent it; public rooms never appear', async () => {
    const lobbyLike = await createRoom(server.url, alice.token);
    await activity(partners[1]!, rooms[1]!);
    await activity(alice, rooms[3]!);
    await sendMessage(server.url, alice.token, lobbyLike.id, 'public chatter');
    await activity(partners[0]!, rooms[0]!);
    const expected = [rooms[0], rooms[3], rooms[1], rooms[4], rooms[2]].map((r) => r!.id);
    expect(await idsOf(alice.token)).toEqual(expected);
    // The same order page by page (keyset: each page continues below the last one's cursor).
    expect(await idsOf(alice.token, 2)).toEqual(expected);
    expect(await idsOf(alice.token, 1)).toEqual(expected);
    expect(await idsOf(partners[3]!.token)).toEqual([rooms[3]!.id]);
  });

  it('pages with first/after: cursors chain, hasNextPage and hasPreviousPage tell where the page is', async () => {
    const all = await idsOf(alice.token);
    const first = await directRoomsPage(server.url, alice.token, 2);
    expect(first.edges.map((e) => e.node.id)).toEqual(all.slice(0, 2));
    expect(first.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false, startCursor: first.edges[0]!.cursor, endCursor: first.edges[1]!.cursor });
    const second = await directRoomsPage(server.url, alice.token, 2, first.pageInfo.endCursor);
    expect(second.edges.map((e) => e.node.id)).toEqual(all.slice(2, 4));
    expect(second.pageInfo.hasNextPage).toBe(true);
    expect(second.pageInfo.hasPreviousPage).toBe(true);
    const last = await directRoomsPage(server.url, alice.token, 2, second.pageInfo.endCursor);
    expect(last.edges.map((e) => e.node.id)).toEqual(all.slice(4));
    expect(last.pageInfo.hasNextPage).toBe(false);
    const beyond = await directRoomsPage(server.url, alice.token, 2, last.pageInfo.endCursor);
    expect(beyond.edges).toEqual([]);
    expect(beyond.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null });
    // Default page size holds all five.
    expect((await directRoomsPage(server.url, alice.token)).edges).toHaveLength(5);
  });

  it('keeps paging below its cursor when a room becomes active meanwhile: it moves to the front, nothing repeats', async () => {
    const before = await idsOf(alice.token);
    const page = await directRoomsPage(server.url, alice.token, 2);
    const moved = rooms.find((r) => r.id === before[4])!;
    await activity(alice, moved);
    const rest = await allDirectRoomsAfter(page.pageInfo.endCursor!);
    expect(rest).toEqual(before.slice(2, 4));
    expect((await idsOf(alice.token))[0]).toBe(moved.id);
  });

  async function allDirectRoomsAfter(cursor: string): Promise<string[]> {
    const ids: string[] = [];
    let after: string | null = cursor;
    for (;;) {
      const page = await directRoomsPage(server.url, alice.token, 2, after);
      ids.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) return ids;
      after = page.pageInfo.endCursor;
    }
  }

  it('refuses bad page sizes and cursors with BAD_USER_INPUT', async () => {
    const roomsCursor = (await gqlOk(server.url, '{ rooms(first: 1) { pageInfo { endCursor } } }')).rooms.pageInfo.endCursor;
    const historyCursor = Buffer.from('msg:1').toString('base64url');
    const forged = Buffer.from('droom:yesterday/not-an-id').toString('base64url');
    const cases: [number | undefined, string | undefined][] = [[0, undefined], [101, undefined], [-1, undefined], [undefined, 'garbage!'], [undefined, roomsCursor], [undefined, historyCursor], [undefined, forged], [undefined, 'x'.repeat(500)]];
    for (const [first, after] of cases) {
      const result = await gql(server.url, 'query($first: Int, $after: String) { directRooms(first: $first, after: $after) { edges { cursor } } }', { first, after }, alice.token);
      expect(errorCode(result), `first ${first}, after ${after?.slice(0, 20)}`).toBe('BAD_USER_INPUT');
    }
  });

  it('needs a token', async () => {
    for (const token of [null, 'bad']) {
      const result = await gql(server.url, '{ directRooms { edges { cursor } } }', {}, token);
      expect(errorCode(result)).toBe('UNAUTHENTICATED');
    }
  });
});
