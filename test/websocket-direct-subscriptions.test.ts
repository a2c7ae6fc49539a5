import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { openDirectRoom } from './helpers/direct-rooms.js';
import { rawConnection, rawSocket, type RawSocket } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until, within } from './helpers/wait.js';

/**
 * Fast-path subscriptions (messageAdded, typing) are started and held by the
 * server itself, not run by graphql-ws (transports/websocket/direct-subscriptions.ts).
 * To a client nothing may differ: these hold them to graphql-transport-ws as
 * graphql-ws speaks it, frame by frame, beside the general path.
 */

const FEED = 'subscription($r: ID!) { messageAdded(roomId: $r) { id body } }';
const TYPING = 'subscription($r: ID!) { typing(roomId: $r) { users { handle } } }';
const FEED_AFTER = 'subscription($r: ID!, $a: ID) { messageAdded(roomId: $r, after: $a) { id body } }';
/** The same stream off the fast path (a directive on the root field). */
const FEED_AFTER_GENERAL = 'subscription($r: ID!, $a: ID) { messageAdded(roomId: $r, after: $a) @include(if: true) { id body } }';
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
  const subscribe = (raw: RawSocket, id: string, query: string, variables: Record<string, unknown> = { r: roomId }) =>
    raw.send({ id, type: 'subscribe', payload: { query, variables } });
  /** Every frame the socket gets from now on, in order. */
  function recorded(raw: RawSocket): Record<string, unknown>[] {
    const frames: Record<string, unknown>[] = [];
    raw.socket.on('message', (data) => frames.push(JSON.parse(String(data)) as Record<string, unknown>));
    return frames;
  }
  const bodyOf = (frame: Record<string, unknown>) => (frame.payload as { data: { messageAdded: { body: string } } }).data.messageAdded.body;
  const framesOf = (frames: Record<string, unknown>[], id: string) => frames.filter((frame) => frame.id === id);

  it('delivers, and stops at the client’s complete without a complete of its own, as graphql-ws does for the general path', async () => {
    const room = await createRoom(server.url, alice.token, 'complete');
    const seed = await sendMessage(server.url, alice.token, room.id, 'seed');
    const one = await sendMessage(server.url, alice.token, room.id, 'one');
    const raw = await connect(bob);
    const frames = recorded(raw);
    // Resuming after the seed, each gets "one" from history: live, with no wait of a guessed length.
    subscribe(raw, 'fast', FEED_AFTER, { r: room.id, a: seed.id });
    subscribe(raw, 'general', FEED_AFTER_GENERAL, { r: room.id, a: seed.id });
    await until(() => framesOf(frames, 'fast').length + framesOf(frames, 'general').length === 2, 5_000, 'both to replay "one"');
    await sendMessage(server.url, alice.token, room.id, 'two');
    await until(() => framesOf(frames, 'fast').length + framesOf(frames, 'general').length === 4, 5_000, 'both to get "two" live');

    raw.send({ id: 'fast', type: 'complete' });
    raw.send({ id: 'general', type: 'complete' });
    await sendMessage(server.url, alice.token, room.id, 'three');
    // A witness on the same socket replays "three" from history; frames on one socket keep their order, so
    // a live "three" for either completed id would have come before it.
    subscribe(raw, 'witness', FEED_AFTER, { r: room.id, a: one.id });
    await until(() => framesOf(frames, 'witness').some((frame) => bodyOf(frame) === 'three'), 5_000, 'the witness to get "three"');
    for (const id of ['fast', 'general']) {
      expect(framesOf(frames, id).map((frame) => `${frame.type} ${bodyOf(frame)}`), id).toEqual(['next one', 'next two']);
    }
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
    const frames = recorded(raw);
    for (const [id, query] of [['feed', FEED], ['typing', TYPING]] as const) {
      subscribe(raw, id, query, { r: direct.id });
      await until(() => framesOf(frames, id).some((frame) => frame.type === 'complete'), 5_000, `the ${id} refusal to complete`);
      expect(framesOf(frames, id).map((frame) => frame.type)).toEqual(['next', 'complete']);
      expect((framesOf(frames, id)[0]!.payload as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('FORBIDDEN');
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
