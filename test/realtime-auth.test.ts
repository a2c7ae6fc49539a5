import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { closeOfClient, rawConnection, rawSocket, signToken, upgradeRefusal } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { within } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

const ME = '{ me { id handle } }';
const MESSAGE_ADDED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id body } }';

describe('WebSocket authentication at connection_init', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
  });
  afterAll(() => server.stop());

  /** Opens a raw socket, sends connection_init with `payload` (omitted when undefined), and returns how it was closed. */
  async function refusedWith(payload: unknown) {
    const raw = rawSocket(server.wsUrl);
    await raw.opened;
    raw.send(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload });
    return within(raw.closed, 5_000, 'the server to close the socket');
  }

  it('closes 4403 "missing token" when connection_init carries no token', async () => {
    for (const payload of [undefined, {}, { token: null }]) {
      expect(await refusedWith(payload), JSON.stringify(payload)).toEqual({ code: 4403, reason: 'missing token' });
    }
  });

  it('closes 4403 "invalid token" for malformed, forged and unsigned tokens', async () => {
    const claims = { nickname: alice.user.nickname, tag: alice.user.tag, exp: Math.floor(Date.now() / 1000) + 3600 };
    const forged = jwt.sign(claims, 'another-secret-another-secret-another-secret', { subject: alice.user.id });
    const unsigned = jwt.sign(claims, '', { subject: alice.user.id, algorithm: 'none' });
    for (const payload of [
      { authorization: 'Basic x' },
      { authorization: 'garbage' },
      { authorization: 'Bearer garbage' },
      { token: 'garbage' },
      { token: forged },
      { authorization: `Bearer ${unsigned}` },
    ]) {
      expect(await refusedWith(payload), JSON.stringify(payload)).toEqual({ code: 4403, reason: 'invalid token' });
    }
  });

  it('closes 4403 "token expired" for an expired token', async () => {
    const { token } = signToken(alice.user, -3600);
    expect(await refusedWith({ token })).toEqual({ code: 4403, reason: 'token expired' });
    expect(await refusedWith({ authorization: `Bearer ${token}` })).toEqual({ code: 4403, reason: 'token expired' });
  });

  it('accepts the token as "authorization: Bearer <jwt>" or as "token", and knows the user on the socket', async () => {
    for (const params of [{ authorization: `Bearer ${alice.token}` }, { token: alice.token }]) {
      const client = wsClient(server.wsUrl, params);
      try {
        const [result] = await subscribe(client, ME).take(1);
        expect(result).toEqual({ me: { id: alice.user.id, handle: alice.user.handle } });
      } finally {
        await client.dispose();
      }
    }
  });

  it('closes the socket 4403 "token expired" when the token expires while connected', async () => {
    const room = await createRoom(server.url, alice.token);
    const seen = await sendMessage(server.url, alice.token, room.id, 'seen earlier');
    const missed = await sendMessage(server.url, alice.token, room.id, 'before the token runs out');
    const { token, exp } = signToken(alice.user, 2);
    const client = wsClient(server.wsUrl, { token });
    try {
      const closed = closeOfClient(client, 5_000);
      const messages = subscribe(client, MESSAGE_ADDED, { roomId: room.id, after: seen.id });
      expect(await messages.next()).toEqual({ messageAdded: { id: missed.id, body: missed.body } });
      const { code, reason } = await closed;
      expect({ code, reason }).toEqual({ code: 4403, reason: 'token expired' });
      // Closed at expiry: not before it, and not long after.
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
      expect(Date.now()).toBeLessThan(exp * 1000 + 1_500);
    } finally {
      await client.dispose();
    }
  });
});

describe('WebSocket connection limits', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer({ websocket: { connectionInitTimeoutMs: 500 } });
    alice = await issueToken(server.url);
  });
  afterAll(() => server.stop());

  it('closes 4408 a socket that never sends connection_init', async () => {
    const raw = rawSocket(server.wsUrl);
    await raw.opened;
    const startedAt = Date.now();
    const closed = await within(raw.closed, 3_000, 'the init timeout');
    expect(closed.code).toBe(4408);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(400);
  });

  it('closes 1009 a socket that sends a frame larger than 64 KiB', async () => {
    const raw = await rawConnection(server.wsUrl, { token: alice.token });
    raw.send({ id: '1', type: 'subscribe', payload: { query: `{ me { id } } # ${'x'.repeat(64 * 1024)}` } });
    expect((await within(raw.closed, 5_000, 'the oversized frame to be refused')).code).toBe(1009);
  });

  it('refuses the 101st subscription on one socket with RATE_LIMITED and keeps the first 100 working', async () => {
    const room = await createRoom(server.url, alice.token);
    const opening = await sendMessage(server.url, alice.token, room.id, 'hello');
    const client = wsClient(server.wsUrl, { token: alice.token });
    let socketClosed = false;
    client.on('closed', () => (socketClosed = true));
    try {
      const subscriptions = Array.from({ length: 100 }, () => subscribe(client, MESSAGE_ADDED, { roomId: room.id, after: opening.id }));
      const extra = subscribe(client, MESSAGE_ADDED, { roomId: room.id, after: opening.id });
      const errors = (await extra.error()) as { extensions?: { code?: string } }[];
      expect(errors[0]?.extensions?.code).toBe('RATE_LIMITED');

      const message = await sendMessage(server.url, alice.token, room.id, 'still here');
      const delivered = await Promise.all(subscriptions.map((s) => s.next()));
      expect(delivered).toEqual(Array(100).fill({ messageAdded: { id: message.id, body: message.body } }));

      // A freed slot can be used again.
      subscriptions[0]!.unsubscribe();
      const replacement = subscribe(client, MESSAGE_ADDED, { roomId: room.id, after: message.id });
      const next = await sendMessage(server.url, alice.token, room.id, 'one more');
      expect(await replacement.next()).toEqual({ messageAdded: { id: next.id, body: next.body } });
      expect(socketClosed).toBe(false);
    } finally {
      await client.dispose();
    }
  });
});

describe('WebSocket origin check', () => {
  const allowed = 'https://chat.example';
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer({ allowedOrigins: [allowed] });
    alice = await issueToken(server.url);
  });
  afterAll(() => server.stop());

  it('refuses the upgrade with HTTP 403 from a foreign origin', async () => {
    expect(await upgradeRefusal(server.wsUrl, { origin: 'https://evil.example' })).toBe(403);
  });

  it('accepts an allowed origin', async () => {
    const raw = await rawConnection(server.wsUrl, { token: alice.token }, { origin: allowed });
    raw.send({ id: 'me', type: 'subscribe', payload: { query: ME } });
    expect((await raw.next('next')).payload).toEqual({ data: { me: { id: alice.user.id, handle: alice.user.handle } } });
    raw.socket.close();
  });
});
