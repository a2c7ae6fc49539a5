import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, type TestUser } from './helpers/chat.js';
import { Cluster, probeUntilLive, type Instance } from './helpers/cluster.js';
import { participantCountOf } from './helpers/realtime.js';
import { dialect, redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';

const PRESENCE_TTL_SECONDS = 3;

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: participant counts across two instances', () => {
  const cluster = new Cluster();
  let a: Instance;
  let b: Instance;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let watcher: TestUser;
  beforeAll(async () => {
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl!, presenceTtlSeconds: PRESENCE_TTL_SECONDS });
    [alice, bob, carol, watcher] = await Promise.all([issueToken(a.url), issueToken(a.url), issueToken(b.url), issueToken(b.url)]);
  }, 60_000);
  afterAll(() => cluster.stop());

  it('counts users on both instances on both, a user on both once, and drops a killed instance’s users within the TTL', async () => {
    const room = await createRoom(a.url, alice.token);
    // Watching a count is not being in the room: the watcher never counts.
    const countOn = { A: a.participantCount(watcher, room.id), B: b.participantCount(watcher, room.id) };
    const latest = (instance: 'A' | 'B') => countOn[instance].received.at(-1)?.participantCount.count;
    const bothShow = (count: number, ms: number) =>
      until(() => latest('A') === count && latest('B') === count, ms, `participantCount ${count} on both instances`).catch((error: Error) => {
        throw new Error(`${error.message} (A shows ${latest('A')}, B shows ${latest('B')})`);
      });
    await bothShow(0, 5_000);

    // Alice in the room on A, Bob on B.
    const aliceOnA = a.messages(alice, room.id);
    const bobOnB = b.messages(bob, room.id);
    await bothShow(2, 3_000);
    expect([await participantCountOf(a.url, room.id), await participantCountOf(b.url, room.id)]).toEqual([2, 2]);

    // Alice opens the room on B as well: live there (a message reached her), she still counts once.
    const aliceOnB = b.messages(alice, room.id);
    await probeUntilLive(b, bob, room.id, [aliceOnA, bobOnB, aliceOnB]);
    // Carol joins on A. Both instances now hold Alice; three distinct users, never four.
    a.messages(carol, room.id);
    await bothShow(3, 3_000);
    expect([await participantCountOf(a.url, room.id), await participantCountOf(b.url, room.id)]).toEqual([3, 3]);
    for (const instance of ['A', 'B'] as const) expect(Math.max(...countOn[instance].received.map((e) => e.participantCount.count))).toBe(3);

    // B dies without a word: Bob (only on B) stops counting on A when B's share expires; Alice and Carol stay.
    const killedAt = Date.now();
    await b.kill('SIGKILL');
    await until(() => latest('A') === 2, (PRESENCE_TTL_SECONDS + 2) * 1000, "A's count to drop to 2 within the TTL and a heartbeat");
    expect(Date.now() - killedAt).toBeLessThan((PRESENCE_TTL_SECONDS + 2) * 1000);
    expect(await participantCountOf(a.url, room.id)).toBe(2);
  });
});
