import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { allMessages } from './helpers/pages.js';
import { closeOfClient, rawConnection, sendMany } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { within } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ROOM_FEED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id seq body } }';

/**
 * More than the kernel holds for a socket that stopped reading (the reader's
 * receive buffer plus the server's send buffer, ~4 MiB on a default Linux)
 * before the server's own buffer grows: sending past it makes a slow consumer for sure.
 */
const KERNEL_BUFFERS_BYTES = 16 * 1024 * 1024;

describe('a subscriber that stops reading', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    // Pings far apart, so only falling behind (not a missed pong) can close the frozen socket.
    server = await startServer({ websocket: { maxBufferedBytes: 64 * 1024, keepAliveMs: 60_000 } });
    alice = await issueToken(server.url, { nickname: 'Alice' });
    bob = await issueToken(server.url, { nickname: 'Bob' });
  });
  afterAll(() => server.stop());

  it('is closed 4008 "slow consumer" while another subscriber keeps receiving every message', async () => {
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');

    // Bob's tab froze: his socket follows the room (many times over, so each message weighs a lot) and stops reading.
    const frozen = await rawConnection(server.wsUrl, { token: bob.token });
    const copies = 50;
    for (let i = 0; i < copies; i++) {
      frozen.send({ id: `feed-${i}`, type: 'subscribe', payload: { query: ROOM_FEED, variables: { roomId: room.id, after: seed.id } } });
    }
    const probe = await sendMessage(server.url, alice.token, room.id, 'are you all there?');
    for (let i = 0; i < copies; i++) expect((await frozen.next('next')).payload.data.messageAdded.id).toBe(probe.id);
    (frozen.socket as unknown as { _socket: Socket })._socket.pause();

    // Alice keeps reading.
    const reader = wsClient(server.wsUrl, { token: alice.token });
    const feed = subscribe<{ messageAdded: { id: string } }>(reader, ROOM_FEED, { roomId: room.id, after: probe.id });
    try {
      const body = (n: number) => `${n} ${'lorem ipsum '.repeat(170)}`.slice(0, 2000);
      const count = Math.ceil(KERNEL_BUFFERS_BYTES / (copies * 2000)) + 50;
      await sendMany(server.url, [alice], room.id, count, { streams: 4, body });

      const history = (await allMessages(server.url, room.id)).filter((m) => m.seq > probe.seq);
      expect(history).toHaveLength(count);
      const got = await feed.take(count, 30_000);
      expect(got.map((e) => e.messageAdded.id)).toEqual(history.map((m) => m.id));

      (frozen.socket as unknown as { _socket: Socket })._socket.resume();
      expect(await within(frozen.closed, 10_000, 'the frozen socket to learn it was closed')).toEqual({ code: 4008, reason: 'slow consumer' });
    } finally {
      await reader.dispose();
    }
  });
});

describe('graceful stop', () => {
  it('closes open sockets with 1001 so clients reconnect elsewhere', async () => {
    const server = await startServer();
    try {
      const alice = await issueToken(server.url);
      const room = await createRoom(server.url, alice.token);
      const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
      const client = wsClient(server.wsUrl, { token: alice.token });
      const feed = subscribe(client, ROOM_FEED, { roomId: room.id, after: seed.id });
      const next = await sendMessage(server.url, alice.token, room.id, 'live');
      expect((await feed.next()).messageAdded.id).toBe(next.id);
      const raw = await rawConnection(server.wsUrl, { token: alice.token });

      const clientClosed = closeOfClient(client);
      await within(server.stop(), 10_000, 'the server to stop');
      expect((await clientClosed).code).toBe(1001);
      expect(await within(raw.closed, 1_000, 'the raw socket to close')).toEqual({ code: 1001, reason: 'server shutting down' });
      await client.dispose();
    } finally {
      await server.stop();
    }
  });
});
