import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, lobbyId, sendMessage } from './helpers/chat.js';
import { participantCountOf } from './helpers/realtime.js';
import { dialect, redisUrl, startServer, type TestServer } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

// Two separate deployments (their own databases) that happen to share one Redis.
describe.skipIf(!redisUrl || dialect !== 'postgres')('deployments sharing one Redis', () => {
  let first: TestServer;
  let second: TestServer;
  beforeAll(async () => {
    [first, second] = await Promise.all([startServer(), startServer()]);
  });
  afterAll(() => Promise.all([first?.stop(), second?.stop()]));

  it("never hear each other's lobby, though every lobby has the same id", async () => {
    const lobby = await lobbyId(first.url);
    expect(await lobbyId(second.url)).toBe(lobby);
    const alice = await issueToken(first.url);
    const bob = await issueToken(second.url);
    const client = wsClient(first.wsUrl, { token: alice.token });
    try {
      const messages = subscribe<{ messageAdded: { body: string } }>(client, 'subscription($r: ID!) { messageAdded(roomId: $r) { body } }', { r: lobby });
      await until(async () => (await participantCountOf(first.url, lobby)) === 1, 5_000, 'alice to count in her own deployment');
      expect(await participantCountOf(second.url, lobby)).toBe(0);

      // Bob's message goes out first: were it heard across deployments, it would arrive first.
      await sendMessage(second.url, bob.token, lobby, 'from the other deployment');
      await sendMessage(first.url, alice.token, lobby, 'from this deployment');
      expect((await messages.next()).messageAdded.body).toBe('from this deployment');
    } finally {
      await client.dispose();
    }
  });
});
