import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, LOBBY_TITLE, lobbyId, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { allRooms } from './helpers/pages.js';
import { startServer, type TestServer } from './helpers/server.js';

const CREATE_ROOM = 'mutation($title: String!) { createRoom(input: { title: $title }) { id title createdAt } }';
const ROOM = 'query($id: ID!) { room(id: $id) { id title createdAt } }';
const ROOMS_PAGE = `query($first: Int, $after: String) {
  rooms(first: $first, after: $after) {
    edges { cursor node { id title } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

interface RoomsPage {
  edges: { cursor: string; node: { id: string; title: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const roomsPage = async (url: string, first: number | undefined, after: string | null) =>
  (await gqlOk<{ rooms: RoomsPage }>(url, ROOMS_PAGE, { first, after })).rooms;

describe('the lobby', () => {
  it('is the one room a fresh server has, and a second instance on the same database does not add another', async () => {
    const first = await startServer();
    try {
      const rooms = await allRooms(first.url);
      expect(rooms.map((r) => r.title)).toEqual([LOBBY_TITLE]);
      expect((await gqlOk(first.url, ROOM, { id: rooms[0]!.id })).room.title).toBe(LOBBY_TITLE);

      const second = await startServer({ database: first.config.database });
      try {
        expect(await allRooms(second.url)).toEqual(rooms);
      } finally {
        await second.stop();
      }
    } finally {
      await first.stop();
    }
  });
});

describe('creating rooms', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
  });
  afterAll(() => server.stop());

  it('trims the title and lists the new room', async () => {
    const created = await gqlOk(server.url, CREATE_ROOM, { title: '  Book club \t' }, alice.token);
    expect(created.createRoom.title).toBe('Book club');
    expect(Math.abs(Date.parse(created.createRoom.createdAt) - Date.now())).toBeLessThan(60_000);
    expect((await gqlOk(server.url, ROOM, { id: created.createRoom.id })).room).toEqual(created.createRoom);
    expect(await allRooms(server.url)).toContainEqual(created.createRoom);
  });

  it('accepts a 64-character title, counted after trimming', async () => {
    for (const title of ['a'.repeat(64), `  ${'b'.repeat(64)}  `]) {
      expect((await createRoom(server.url, alice.token, title)).title).toBe(title.trim());
    }
  });

  it('refuses titles it cannot show, and creates nothing', async () => {
    const before = await allRooms(server.url);
    const titles = ['', '   ', ' \n\t ', 'a'.repeat(65), 'line\nbreak', 'tab\there', 'nul\u0000', 'bell\u0007', 'esc\u001b[31m', 'del\u007f', 'c1\u0085'];
    for (const title of titles) {
      const result = await gql(server.url, CREATE_ROOM, { title }, alice.token);
      expect(errorCode(result), JSON.stringify(title)).toBe('BAD_USER_INPUT');
      expect(result.data ?? null).toBeNull();
    }
    expect(await allRooms(server.url)).toEqual(before);
  });

  it('needs a token, and creates nothing without one', async () => {
    const before = await allRooms(server.url);
    for (const token of [undefined, 'garbage']) {
      const result = await gql(server.url, CREATE_ROOM, { title: 'Sneaky' }, token);
      expect(errorCode(result)).toBe('UNAUTHENTICATED');
    }
    expect(await allRooms(server.url)).toEqual(before);
  });

  it('answers room(id) with null for ids that name no room', async () => {
    for (const id of [randomUUID(), '00000000-0000-7000-8000-000000000000', 'garbage', '', "'; drop table rooms; --"]) {
      const result = await gql(server.url, ROOM, { id });
      expect(result.errors, JSON.stringify(id)).toBeUndefined();
      expect(result.data.room).toBeNull();
    }
  });
});

describe('paging through rooms', () => {
  let server: TestServer;
  let everyRoomId: string[];
  beforeAll(async () => {
    server = await startServer();
    const alice = await issueToken(server.url);
    for (let i = 1; i <= 25; i++) await createRoom(server.url, alice.token, `room ${i}`);
    everyRoomId = (await allRooms(server.url)).map((r) => r.id);
  });
  afterAll(() => server.stop());

  it('lists the lobby and all 25 new rooms', () => {
    expect(everyRoomId).toHaveLength(26);
    expect(new Set(everyRoomId).size).toBe(26);
  });

  it.each([1, 7, 13, 26, 100, undefined])('shows every room exactly once with first: %s', async (first) => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pageNumber = 0; ; pageNumber++) {
      const page = await roomsPage(server.url, first, after);
      if (first !== undefined) expect(page.edges.length).toBeLessThanOrEqual(first);
      expect(page.edges.length).toBeGreaterThan(0);
      expect(page.pageInfo.hasPreviousPage).toBe(pageNumber > 0);
      expect(page.pageInfo.startCursor).toBe(page.edges[0]!.cursor);
      expect(page.pageInfo.endCursor).toBe(page.edges.at(-1)!.cursor);
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    // Same rooms in the same order whatever the page size: no gap, no duplicate.
    expect(seen).toEqual(everyRoomId);
  });

  it('says there is no next page when the last page is exactly full', async () => {
    const firstPage = await roomsPage(server.url, 13, null);
    expect(firstPage.pageInfo.hasNextPage).toBe(true);
    const secondPage = await roomsPage(server.url, 13, firstPage.pageInfo.endCursor);
    expect(secondPage.edges).toHaveLength(13);
    expect(secondPage.pageInfo.hasNextPage).toBe(false);
  });

  it('refuses page sizes out of range', async () => {
    for (const first of [0, 101, -1]) {
      expect(errorCode(await gql(server.url, ROOMS_PAGE, { first })), String(first)).toBe('BAD_USER_INPUT');
    }
  });

  it('refuses cursors it did not hand out for rooms', async () => {
    const alice = await issueToken(server.url);
    const lobby = await lobbyId(server.url);
    await sendMessage(server.url, alice.token, lobby, 'hi');
    const messageCursor: string = (await gqlOk(server.url, 'query($id: ID!) { messages(roomId: $id) { pageInfo { startCursor } } }', { id: lobby })).messages
      .pageInfo.startCursor;
    const cursors = [
      'garbage',
      '',
      '!!!',
      'x'.repeat(1000),
      messageCursor,
      Buffer.from('room:not-a-uuid').toString('base64url'),
      Buffer.from('just some random words').toString('base64'),
    ];
    for (const after of cursors) {
      const result = await gql(server.url, ROOMS_PAGE, { first: 5, after });
      expect(errorCode(result), after).toBe('BAD_USER_INPUT');
    }
  });
});
