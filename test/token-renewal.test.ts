import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { closeOfClient, signToken } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { subscribe, wsClient } from './helpers/ws.js';

const RENEW = 'mutation { renewToken { token expiresAt user { id handle } } }';
// Resuming after a seed message, so nothing sent while the subscription starts can slip past it.
const MESSAGE_ADDED = 'subscription($roomId: ID!, $after: ID) { messageAdded(roomId: $roomId, after: $after) { id body } }';

interface Renewed {
  renewToken: { token: string; expiresAt: string; user: { id: string; handle: string } };
}

describe('renewToken', () => {
  let server: TestServer;
  let alice: TestUser;

  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
  });
  afterAll(() => server.stop());

  it('gives the caller a fresh token for the same user over HTTP', async () => {
    const { token } = signToken(alice.user, 120);
    const { renewToken } = await gqlOk<Renewed>(server.url, RENEW, {}, token);
    expect(renewToken.user).toEqual({ id: alice.user.id, handle: alice.user.handle });
    expect(Date.parse(renewToken.expiresAt)).toBeGreaterThan(Date.now() + 3_000_000);
    const me = await gqlOk<{ me: { id: string } }>(server.url, '{ me { id } }', {}, renewToken.token);
    expect(me.me.id).toBe(alice.user.id);
  });

  it('needs a valid token: none or an expired one is UNAUTHENTICATED (issueToken(previousToken:) restores those)', async () => {
    expect(errorCode(await gql(server.url, RENEW))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(server.url, RENEW, {}, signToken(alice.user, -60).token))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(server.url, RENEW, {}, 'not-a-token'))).toBe('UNAUTHENTICATED');
  });

  it('over graphql-ws keeps the socket and its subscriptions past the first token’s expiry, while a socket that did not renew is closed 4403', async () => {
    const room = await createRoom(server.url, alice.token);
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    // Long enough to subscribe and renew first, short enough to outlive in a test.
    const short = signToken(alice.user, 4);
    const renewing = wsClient(server.wsUrl, { token: short.token }, { lazyCloseTimeout: 60_000 });
    const control = wsClient(server.wsUrl, { token: short.token }, { lazyCloseTimeout: 60_000 });
    try {
      const renewingClosed = closeOfClient(renewing, 10_000).then((c) => c, () => null);
      const controlClosed = closeOfClient(control, 8_000);
      const live = subscribe<{ messageAdded: { id: string; body: string } }>(renewing, MESSAGE_ADDED, { roomId: room.id, after: seed.id });
      const watched = subscribe<{ messageAdded: { id: string } }>(control, MESSAGE_ADDED, { roomId: room.id, after: seed.id });
      const first = await sendMessage(server.url, alice.token, room.id, 'before renewal');
      expect((await live.next()).messageAdded.id).toBe(first.id);
      expect((await watched.next()).messageAdded.id).toBe(first.id);

      const [renewed] = await subscribe<Renewed>(renewing, RENEW).take(1);
      expect(renewed!.renewToken.user.id).toBe(alice.user.id);

      // The control socket, same first token, is closed at its expiry...
      expect(await controlClosed).toMatchObject({ code: 4403, reason: 'token expired' });
      expect(Date.now()).toBeGreaterThanOrEqual(short.exp * 1000 - 50);
      // ...while the renewed one still delivers on the subscription it already had: no reconnect, no gap.
      const after = await sendMessage(server.url, alice.token, room.id, 'after the first token expired');
      expect(await live.next()).toEqual({ messageAdded: { id: after.id, body: after.body } });
      const settled = await Promise.race([renewingClosed, new Promise((resolve) => setTimeout(() => resolve('open'), 300))]);
      expect(settled).toBe('open');
    } finally {
      await renewing.dispose();
      await control.dispose();
    }
  });
});
