import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { openDirectRoom } from './helpers/direct-rooms.js';
import { rawConnection, rawSocket, type RawSocket } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { within } from './helpers/wait.js';

/**
 * Fast-path subscriptions (messageAdded, typing) are started and held by the
 * server itself, not run by graphql-ws (transports/websocket/direct-subscriptions.ts).
 * To a client nothing may differ: these hold them to graphql-transport-ws as
 * graphql-ws speaks it, frame by frame, beside the general path.
 */

const FEED = 'subscription($r: ID!) { messageAdded(roomId: $r) { id body } }';
const TYPING = 'subscription($r: ID!) { typing(roomId: $r) { users { handle } } }';
/** The same stream off the fast path (a directive on the root field). */
const FEED_GENERAL = 'subscription($r: ID!) { messageAdded(roomId: $r) @include(if: true) { id body } }';
const MAX_SUBSCRIPTIONS = 5;

describe('fast-path subscriptions over graphql-ws', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startServer({ websocket: { maxSubscriptions: MAX_SUBSCRIPTIONS } });
    alice = await issueToken(server.url, { nickname: 'Alice' });
    bob = await issueToken(server.url, { nickname: 'Bob' });
    roomId = (await createRoom(server.url, alice.token, 'direct path')).id;
  });
  afterAll(() => server.stop());

  const connect = (user: TestUser) => rawConnection(server.wsUrl, { token: user.token });
  const subscribe = (raw: RawSocket, id: string, query: string, r = roomId) => raw.send({ id, type: 'subscribe', payload: { query, variables: { r } } });
  /** Every frame with this id from now on, for `ms`. */
  async function framesFor(raw: RawSocket, id: string, ms: number): Promise<Record<string, unknown>[]> {
    const frames: Record<string, unknown>[] = [];
    const listener = (data: Buffer) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      if (frame.id === id) frames.push(frame);
    };
    raw.socket.on('message', listener);
    await new Promise((resolve) => setTimeout(resolve, ms));
    raw.socket.off('message', listener);
    return frames;
  }

  it('delivers, and stops at the client’s complete without a complete of its own, as graphql-ws does for the general path', async () => {
    const raw = await connect(bob);
    subscribe(raw, 'fast', FEED);
    subscribe(raw, 'general', FEED_GENERAL);
    // Both live: a message reaches both.
    const live = framesFor(raw, 'fast', 500);
    const liveGeneral = framesFor(raw, 'general', 500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sendMessage(server.url, alice.token, roomId, 'one');
    expect((await live).map((f) => f.type)).toEqual(['next']);
    expect((await liveGeneral).map((f) => f.type)).toEqual(['next']);

    raw.send({ id: 'fast', type: 'complete' });
    raw.send({ id: 'general', type: 'complete' });
    const after = framesFor(raw, 'fast', 500);
    const afterGeneral = framesFor(raw, 'general', 500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sendMessage(server.url, alice.token, roomId, 'two');
    expect(await after).toEqual([]);
    expect(await afterGeneral).toEqual([]);
    // The id is free again.
    subscribe(raw, 'fast', FEED);
    const again = framesFor(raw, 'fast', 500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sendMessage(server.url, alice.token, roomId, 'three');
    expect((await again).map((f) => (f.payload as { data: { messageAdded: { body: string } } }).data.messageAdded.body)).toEqual(['three']);
    raw.socket.close();
  });

  it('closes 4409 for a second subscribe with an id in use, as for any operation', async () => {
    const raw = await connect(bob);
    subscribe(raw, 'same', TYPING);
    await raw.next('next');
    subscribe(raw, 'same', FEED);
    const closed = await within(raw.closed, 5_000, 'the close');
    expect(closed).toEqual({ code: 4409, reason: 'Subscriber for same already exists' });
  });

  it('closes 4401 for a subscribe before the acknowledgement', async () => {
    const raw = rawSocket(server.wsUrl);
    await within(raw.opened, 5_000, 'the socket to open');
    subscribe(raw, '1', FEED);
    expect(await within(raw.closed, 5_000, 'the close')).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('counts toward the subscriptions a connection may hold', async () => {
    const raw = await connect(bob);
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i++) subscribe(raw, `s${i}`, i % 2 ? TYPING : FEED);
    subscribe(raw, 'one-too-many', FEED);
    const refused = await raw.next('error');
    expect(refused.id).toBe('one-too-many');
    expect(refused.payload).toEqual([expect.objectContaining({ message: `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection`, extensions: { code: 'RATE_LIMITED' } })]);
    raw.socket.close();
  });

  it('answers a refusal (a direct room of others) with next and its errors, then complete, before any event', async () => {
    const carol = await issueToken(server.url, { nickname: 'Carol' });
    const direct = await openDirectRoom(server.url, alice.token, carol.user.id);
    const raw = await connect(bob);
    for (const [id, query] of [['feed', FEED], ['typing', TYPING]] as const) {
      subscribe(raw, id, query, direct.id);
      const frames = await framesFor(raw, id, 500);
      expect(frames.map((f) => f.type)).toEqual(['next', 'complete']);
      expect((frames[0]!.payload as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
    }
    raw.socket.close();
  });

  it('reports validation errors without Yoga’s HTTP status hint (extensions.http)', async () => {
    const raw = await connect(bob);
    subscribe(raw, 'bad', 'subscription($r: ID!) { messageAdded(roomId: $r) { nope } }');
    const error = await raw.next('error');
    expect(error.payload).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
    raw.socket.close();
  });
});
