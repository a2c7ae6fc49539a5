import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { startServer, type TestServer } from './helpers/server.js';

const CONNECTION = `
  edges { cursor node { id seq body } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
`;
const HISTORY = `query($roomId: ID!, $last: Int, $before: String) { messages(roomId: $roomId, last: $last, before: $before) { ${CONNECTION} } }`;
const ROOM_HISTORY = `query($roomId: ID!, $last: Int, $before: String) { room(id: $roomId) { messages(last: $last, before: $before) { ${CONNECTION} } } }`;

interface Page {
  edges: { cursor: string; node: { id: string; seq: number; body: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

describe('reading a room’s history', () => {
  let server: TestServer;
  let alice: TestUser;
  let busyRoom: string;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    busyRoom = (await createRoom(server.url, alice.token, 'busy')).id;
    for (let i = 1; i <= 250; i++) await sendMessage(server.url, alice.token, busyRoom, `message ${i}`);
  });
  afterAll(() => server.stop());

  const page = async (roomId: string, last?: number, before?: string | null): Promise<Page> =>
    (await gqlOk<{ messages: Page }>(server.url, HISTORY, { roomId, last, before })).messages;
  const bodies = (p: Page) => p.edges.map((e) => e.node.body);
  const messages = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `message ${from + i}`);

  it('pages back from the newest through all 250 messages, each exactly once, oldest first within a page', async () => {
    const newest = await page(busyRoom, 100);
    expect(bodies(newest)).toEqual(messages(151, 250));
    expect(newest.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: newest.edges[0]!.cursor, endCursor: newest.edges[99]!.cursor });

    const older = await page(busyRoom, undefined, newest.pageInfo.startCursor);
    expect(bodies(older)).toEqual(messages(101, 150));
    expect(older.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });

    const pages = [newest, older];
    let before = older.pageInfo.startCursor;
    for (;;) {
      const next = await page(busyRoom, 7, before);
      expect(next.pageInfo.hasNextPage).toBe(true);
      expect(next.pageInfo.startCursor).toBe(next.edges[0]!.cursor);
      expect(next.pageInfo.endCursor).toBe(next.edges.at(-1)!.cursor);
      pages.push(next);
      if (!next.pageInfo.hasPreviousPage) break;
      before = next.pageInfo.startCursor;
    }
    expect(pages.slice(2).map((p) => p.edges.length)).toEqual([...Array<number>(14).fill(7), 2]);
    expect(pages.reverse().flatMap(bodies)).toEqual(messages(1, 250));
  });

  it('gives the same pages through Room.messages as through Query.messages', async () => {
    const viaQuery = await page(busyRoom, 30);
    const viaRoom = (await gqlOk(server.url, ROOM_HISTORY, { roomId: busyRoom, last: 30 })).room.messages;
    expect(viaRoom).toEqual(viaQuery);
    const olderViaQuery = await page(busyRoom, undefined, viaQuery.pageInfo.startCursor);
    const olderViaRoom = (await gqlOk(server.url, ROOM_HISTORY, { roomId: busyRoom, before: viaQuery.pageInfo.startCursor })).room.messages;
    expect(olderViaRoom).toEqual(olderViaQuery);
    expect(olderViaRoom.edges).toHaveLength(50);
  });

  it('says there is no earlier page when the oldest page is exactly full', async () => {
    const room = (await createRoom(server.url, alice.token)).id;
    for (const body of ['one', 'two', 'three']) await sendMessage(server.url, alice.token, room, body);
    expect((await page(room, 3)).pageInfo.hasPreviousPage).toBe(false);
    const lastTwo = await page(room, 2);
    expect(bodies(lastTwo)).toEqual(['two', 'three']);
    expect(lastTwo.pageInfo.hasPreviousPage).toBe(true);
    const first = await page(room, 1, lastTwo.pageInfo.startCursor);
    expect(bodies(first)).toEqual(['one']);
    expect(first.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true });
  });

  it('keeps paging back steadily while new messages arrive', async () => {
    const room = (await createRoom(server.url, alice.token)).id;
    for (let i = 1; i <= 30; i++) await sendMessage(server.url, alice.token, room, `message ${i}`);
    const newest = await page(room, 10);
    for (let i = 31; i <= 35; i++) await sendMessage(server.url, alice.token, room, `message ${i}`);
    const older = await page(room, 10, newest.pageInfo.startCursor);
    const oldest = await page(room, 10, older.pageInfo.startCursor);
    expect([oldest, older, newest].flatMap(bodies)).toEqual(messages(1, 30));
    expect(oldest.pageInfo.hasPreviousPage).toBe(false);
  });

  it('shows an empty room as an empty page', async () => {
    const room = (await createRoom(server.url, alice.token)).id;
    const empty: Page = { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } };
    expect(await page(room)).toEqual(empty);
    expect((await gqlOk(server.url, ROOM_HISTORY, { roomId: room })).room.messages).toEqual(empty);
  });

  it('refuses page sizes out of range', async () => {
    for (const last of [0, 101, -5]) {
      expect(errorCode(await gql(server.url, HISTORY, { roomId: busyRoom, last })), `Query.messages last ${last}`).toBe('BAD_USER_INPUT');
      expect(errorCode(await gql(server.url, ROOM_HISTORY, { roomId: busyRoom, last })), `Room.messages last ${last}`).toBe('BAD_USER_INPUT');
    }
    expect((await page(busyRoom, 100)).edges).toHaveLength(100);
  });

  it('refuses cursors it did not hand out for messages, never failing with an internal error', async () => {
    const roomCursor: string = (await gqlOk(server.url, '{ rooms(first: 1) { pageInfo { endCursor } } }')).rooms.pageInfo.endCursor;
    const cursors = [
      'garbage',
      '',
      '!!!',
      'x'.repeat(1000),
      roomCursor,
      Buffer.from('some random text').toString('base64'),
      Buffer.from('some random text').toString('base64url'),
      // Our shape, but naming no possible message: zero, negative, fractional, beyond the 32-bit seq column.
      ...['msg:0', 'msg:-1', 'msg:1.5', 'msg:abc', 'msg:2147483648', 'msg:999999999999999', `msg:${'9'.repeat(30)}`].map((text) => Buffer.from(text).toString('base64url')),
    ];
    for (const before of cursors) {
      for (const query of [HISTORY, ROOM_HISTORY]) {
        const result = await gql(server.url, query, { roomId: busyRoom, before });
        expect(errorCode(result), before).toBe('BAD_USER_INPUT');
      }
    }
  });

  it('answers NOT_FOUND for a room that does not exist', async () => {
    for (const roomId of [randomUUID(), 'garbage']) {
      expect(errorCode(await gql(server.url, HISTORY, { roomId })), roomId).toBe('NOT_FOUND');
    }
  });
});
