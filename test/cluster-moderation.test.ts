import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { Cluster, postgresUrl, type Instance, type RedisServer } from './helpers/cluster.js';
import { errorCode, gqlOk } from './helpers/graphql.js';
import { ADMIN_TOKEN, banUser, NOTICES, REPORT_MESSAGE, REPORTS, sendNotice, setSlowMode, storedBodies, trySend, unbanUser, type NoticeEvent, type ReportEvent } from './helpers/moderation.js';
import type { TestDatabase } from './helpers/server.js';
import { dialect, redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient, type Subscription } from './helpers/ws.js';

/** Polls `attempt` until it reports success and returns how long that took; fails after `ms`. */
async function timeUntil(attempt: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const started = Date.now();
  await until(attempt, ms, what);
  return Date.now() - started;
}

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: moderation across two instances', () => {
  const cluster = new Cluster();
  let database: TestDatabase;
  let a: Instance;
  let b: Instance;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  beforeAll(async () => {
    database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl!, env: { ADMIN_TOKEN } });
    [alice, bob, carol] = await Promise.all([issueToken(a.url), issueToken(b.url), issueToken(a.url)]);
  }, 60_000);
  afterAll(() => cluster.stop());

  it('a ban made on one instance takes effect on the other within a second, and so does lifting it', async () => {
    const room = await createRoom(a.url, bob.token);
    // B has just seen Alice write: what it knows of her is fresh when the ban comes.
    const reading = a.messages(alice, room.id);
    await until(async () => {
      await sendMessage(b.url, alice.token, room.id, 'before');
      return reading.received.length > 0;
    }, 10_000, "Alice's subscription on A to be live");

    await banUser(a.url, alice.user.id);
    const refusedAfter = await timeUntil(async () => errorCode(await trySend(b.url, alice.token, room.id, 'after the ban')) === 'FORBIDDEN', 1_000, 'B to refuse Alice');
    expect(refusedAfter).toBeLessThan(1_000);
    // Her socket on A stays and still reads.
    await sendMessage(b.url, bob.token, room.id, 'bob writes');
    await until(() => reading.received.some((event) => event.messageAdded.body === 'bob writes'), 5_000, "Bob's message on Alice's socket");

    await unbanUser(b.url, alice.user.id);
    const freedAfter = await timeUntil(async () => (await trySend(a.url, alice.token, room.id, 'free again')).data?.sendMessage != null, 1_000, 'A to accept Alice again');
    expect(freedAfter).toBeLessThan(1_000);
    expect((await storedBodies(a.url, room.id)).filter((body) => body === 'after the ban')).toHaveLength(0);
  });

  it('a ban whose announcement was lost still bites on every instance within about a second', async () => {
    const room = await createRoom(a.url, bob.token);
    await Promise.all([sendMessage(a.url, carol.token, room.id, 'on A'), sendMessage(b.url, carol.token, room.id, 'on B')]);
    // Written straight into the database: no instance hears of it, as when Redis drops the announcement.
    const client = new pg.Client({ connectionString: postgresUrl(database) });
    await client.connect();
    try {
      await client.query('INSERT INTO bans (user_id, until, created_at) VALUES ($1, NULL, $2)', [carol.user.id, new Date().toISOString()]);
    } finally {
      await client.end();
    }
    const refused = (instance: Instance) => timeUntil(async () => errorCode(await trySend(instance.url, carol.token, room.id, 'unannounced')) === 'FORBIDDEN', 2_000, `${instance.name} to refuse Carol`);
    for (const took of await Promise.all([refused(a), refused(b)])) expect(took).toBeLessThan(1_500);
    await unbanUser(a.url, carol.user.id);
  });

  it('slow mode reaches the other instance within a second, and of concurrent sends to both only one passes', async () => {
    const room = await createRoom(a.url, alice.token);
    const slowModeOn = async (instance: Instance) => (await gqlOk(instance.url, 'query($id: ID!) { room(id: $id) { slowModeSeconds } }', { id: room.id })).room.slowModeSeconds as number;
    expect(await slowModeOn(b)).toBe(0);
    await setSlowMode(a.url, room.id, 30);
    expect(await timeUntil(async () => (await slowModeOn(b)) === 30, 1_000, 'B to show the slow mode')).toBeLessThan(1_000);

    for (const sender of [alice, bob]) {
      const results = await Promise.all(Array.from({ length: 20 }, (_, n) => trySend(n % 2 === 0 ? a.url : b.url, sender.token, room.id, `${sender.user.nickname} ${n}`)));
      expect(results.filter((result) => result.data?.sendMessage), sender.user.handle).toHaveLength(1);
      const refused = results.filter((result) => errorCode(result) === 'RATE_LIMITED');
      expect(refused).toHaveLength(19);
      for (const result of refused) expect(result.errors![0]!.extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(await storedBodies(b.url, room.id)).toHaveLength(2);
  });

  it('notices reach subscribers on every instance: EVERYONE to all, USER to each socket of that user', async () => {
    const clients = [a.client(alice), b.client(alice), b.client(bob)];
    const [aliceOnA, aliceOnB, bobOnB] = clients.map((client) => subscribe<NoticeEvent>(client, NOTICES)) as [Subscription<NoticeEvent>, Subscription<NoticeEvent>, Subscription<NoticeEvent>];
    const all = [aliceOnA, aliceOnB, bobOnB];
    await until(async () => {
      const probe = await sendNotice(a.url, 'probe');
      await until(() => all.every((s) => s.received.some((e) => e.notices.id === probe.id)), 300, 'the probe').catch(() => {});
      return all.every((s) => s.received.some((e) => e.notices.id === probe.id));
    }, 10_000, 'every notices stream to be live');
    await Promise.all(all.map((s) => s.take(s.received.length)));

    const forAlice = await sendNotice(b.url, 'only Alice', alice.user.id);
    for (const stream of [aliceOnA, aliceOnB]) expect((await stream.next()).notices).toEqual(forAlice);
    const forEveryone = await sendNotice(a.url, 'everyone');
    for (const stream of all) expect((await stream.next()).notices).toEqual(forEveryone);
  });

  it('a report made on one instance reaches the operators subscribed on the other', async () => {
    const operator = wsClient(a.wsUrl, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const reports = subscribe<ReportEvent>(operator, REPORTS);
    const room = await createRoom(b.url, bob.token);
    await until(async () => {
      const message = await sendMessage(b.url, bob.token, room.id, 'reported');
      await gqlOk(b.url, REPORT_MESSAGE, { messageId: message.id, reason: 'spam' }, carol.token);
      await until(() => reports.received.length > 0, 300, 'a report').catch(() => {});
      return reports.received.length > 0;
    }, 10_000, 'the report on the operator socket of the other instance');
    expect((await reports.next()).reports).toMatchObject({ reason: 'spam', reporter: { id: carol.user.id }, message: { body: 'reported', roomId: room.id } });
    await operator.dispose();
  });
});

// A redis-server of the test's own, stopped mid-test; the shared one is never touched.
describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: moderation while Redis is away', () => {
  const cluster = new Cluster();
  let redis: RedisServer;
  let instance: Instance;
  let alice: TestUser;
  beforeAll(async () => {
    redis = await cluster.startRedis();
    instance = await cluster.startReadyInstance({ database: await cluster.database(), redisUrl: redis.url, env: { ADMIN_TOKEN } });
    alice = await issueToken(instance.url);
  }, 60_000);
  afterAll(() => cluster.stop());

  it('keeps sending working, slow mode held by the instance itself, and bans enforced', async () => {
    const room = await createRoom(instance.url, alice.token);
    await setSlowMode(instance.url, room.id, 30);
    await redis.kill('SIGKILL');

    await sendMessage(instance.url, alice.token, room.id, 'during the outage');
    const refused = await trySend(instance.url, alice.token, room.id, 'too soon');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    await banUser(instance.url, alice.user.id);
    // The ban is read from the database, not Redis: it bites at once.
    expect(errorCode(await trySend(instance.url, alice.token, room.id, 'banned'))).toBe('FORBIDDEN');
    expect(await storedBodies(instance.url, room.id)).toEqual(['during the outage']);
    expect(instance.running).toBe(true);
  });
});
