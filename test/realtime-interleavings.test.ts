import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { participantCountOf, rawConnection, type RawSocket } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { until, within } from './helpers/wait.js';
import { seededRandom } from './helpers/random.js';

const ROOM_FEED = 'subscription($roomId: ID!) { messageAdded(roomId: $roomId) { id body } }';
/**
 * Off the fast path (a directive on the root field), so both paths are driven. (A root
 * __typename beside the field, as this once was, is refused by validation: nothing ran.)
 */
const ROOM_FEED_GENERAL = 'subscription($roomId: ID!) { messageAdded(roomId: $roomId) @include(if: true) { id } }';

describe('subscribe, complete and close in any order', () => {
  let server: TestServer;
  let host: TestUser;
  const users: TestUser[] = [];

  beforeAll(async () => {
    server = await startServer();
    host = await issueToken(server.url, { nickname: 'Host' });
    for (let i = 0; i < 40; i++) users.push(await issueToken(server.url, { nickname: `Churner ${i}` }));
  });
  afterAll(() => server.stop());

  const connect = (user: TestUser) => rawConnection(server.wsUrl, { token: user.token });
  const closed = async (raw: RawSocket) => {
    raw.socket.close();
    await within(raw.closed, 5_000, 'the socket to close');
  };

  it('"subscribe x, complete x, subscribe x" in one burst leaves one live subscription, and nothing once the socket closes', async () => {
    const room = await createRoom(server.url, host.token);
    const sockets: RawSocket[] = [];
    for (const user of users) {
      const raw = await connect(user);
      const subscribeX = { id: 'x', type: 'subscribe', payload: { query: ROOM_FEED, variables: { roomId: room.id } } };
      // One burst: all three frames leave in the same tick.
      raw.send(subscribeX);
      raw.send({ id: 'x', type: 'complete' });
      raw.send(subscribeX);
      sockets.push(raw);
    }
    await until(async () => (await participantCountOf(server.url, room.id)) === users.length, 5_000, 'every user counted once');
    // The second "x" is the live one: it receives the next message, once.
    const message = await sendMessage(server.url, host.token, room.id, 'still here?');
    for (const raw of sockets) {
      const next = await raw.next('next');
      expect(next).toMatchObject({ id: 'x', payload: { data: { messageAdded: { id: message.id } } } });
    }
    await Promise.all(sockets.map(closed));
    await until(async () => (await participantCountOf(server.url, room.id)) === 0, 5_000, 'the count back to 0');
  });

  it('returns the count to 0 after 1,000 random interleavings of subscribe, complete and close', async () => {
    const room = await createRoom(server.url, host.token);
    const seed = Date.now() % 100_000;
    const next = seededRandom(seed);
    const ids = ['a', 'b', 'c'];
    const runSequence = async (user: TestUser) => {
      const raw = await connect(user);
      const steps = 2 + Math.floor(next() * 8);
      for (let step = 0; step < steps; step++) {
        const id = ids[Math.floor(next() * ids.length)]!;
        const roll = next();
        if (roll < 0.5) {
          const query = next() < 0.8 ? ROOM_FEED : ROOM_FEED_GENERAL;
          raw.send({ id, type: 'subscribe', payload: { query, variables: { roomId: room.id } } });
        } else {
          raw.send({ id, type: 'complete' });
        }
        // Mostly one burst; sometimes the server gets a moment between frames.
        if (next() < 0.2) await new Promise((resolve) => setImmediate(resolve));
      }
      // A subscribe for an id still held closes the socket (4409, the protocol's rule); else we close it.
      if (next() < 0.5) raw.socket.terminate();
      else raw.socket.close();
      await within(raw.closed, 5_000, 'the socket to close');
    };
    const total = 1_000;
    const parallel = 25;
    let started = 0;
    await Promise.all(
      Array.from({ length: parallel }, async (_, lane) => {
        while (started < total) {
          started++;
          await runSequence(users[lane % users.length]!);
        }
      }),
    );
    await until(async () => (await participantCountOf(server.url, room.id)) === 0, 10_000, `the count back to 0 (seed ${seed})`);
  });
});
