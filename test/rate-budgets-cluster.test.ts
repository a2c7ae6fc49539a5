import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, type TestUser } from './helpers/chat.js';
import { Cluster, type Instance } from './helpers/cluster.js';
import { gql, type GraphQLResponse } from './helpers/graphql.js';
import { storedBodies, trySend } from './helpers/moderation.js';
import { dialect, redisUrl, type TestDatabase } from './helpers/server.js';

const ISSUE = 'mutation { issueToken { token expiresAt user { id nickname tag handle } } }';

function expectRateLimited(result: GraphQLResponse): void {
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result)).toBe('RATE_LIMITED');
  expect(result.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
}

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: rate budgets shared by two instances through Redis', () => {
  const cluster = new Cluster();
  let database: TestDatabase;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    database = await cluster.database();
    // The budgets at their defaults (the cluster helper turns them off unless asked).
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl!, env: { RATE_LIMITS: 'on' } });
  }, 60_000);
  afterAll(() => cluster.stop());

  let alice: TestUser;
  it('issueToken per address: three identities across both instances, then each refuses the fourth', async () => {
    const minted = [await gql(a.url, ISSUE), await gql(b.url, ISSUE), await gql(a.url, ISSUE)];
    expect(minted.every((result) => result.data?.issueToken?.token)).toBe(true);
    alice = minted[0]!.data.issueToken as TestUser;
    expectRateLimited(await gql(a.url, ISSUE));
    expectRateLimited(await gql(b.url, ISSUE));
  });

  it('sendMessage per user: ten across both instances, then the eleventh is refused on either, and not stored', async () => {
    const room = await createRoom(a.url, alice.token);
    for (let i = 0; i < 10; i++) {
      const result = await trySend(i % 2 === 0 ? a.url : b.url, alice.token, room.id, `m${i}`);
      expect(result.data?.sendMessage?.body, JSON.stringify(result)).toBe(`m${i}`);
    }
    expectRateLimited(await trySend(a.url, alice.token, room.id, 'one too many on A'));
    expectRateLimited(await trySend(b.url, alice.token, room.id, 'one too many on B'));
    expect((await storedBodies(a.url, room.id)).filter((body) => body.startsWith('one too many'))).toEqual([]);
  });
});

describe.skipIf(!redisUrl || dialect !== 'postgres')('rate budgets while Redis is unreachable', () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stop());

  it('each instance counts on its own meanwhile: sending works, and the budget still holds', async () => {
    const redis = await cluster.startRedis();
    const database = await cluster.database();
    const a = await cluster.startReadyInstance({ database, redisUrl: redis.url, env: { RATE_LIMITS: 'on' } });
    const alice = (await gql(a.url, ISSUE)).data.issueToken as TestUser;
    const room = await createRoom(a.url, alice.token);
    await redis.kill('SIGKILL');
    for (let i = 0; i < 10; i++) {
      const result = await trySend(a.url, alice.token, room.id, `m${i}`);
      expect(result.data?.sendMessage?.body, JSON.stringify(result)).toBe(`m${i}`);
    }
    expectRateLimited(await trySend(a.url, alice.token, room.id, 'one too many'));
  }, 60_000);
});
