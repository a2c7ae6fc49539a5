import { afterAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage } from './helpers/chat.js';
import { Cluster, probeUntilLive, seqsOf } from './helpers/cluster.js';
import { freePort } from './helpers/processes.js';
import { dialect, redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: Redis not there yet when an instance starts', () => {
  const cluster = new Cluster();
  afterAll(() => cluster.stop());

  it('starts anyway, not ready, one plain line per retry; ready and delivering within seconds of Redis arriving', { timeout: 60_000 }, async () => {
    const port = await freePort();
    const instance = await cluster.startInstance({ database: await cluster.database(), redisUrl: `redis://127.0.0.1:${port}`, name: 'late' });

    const notReady = await instance.waitForHealth(503, 30_000);
    expect(notReady.body).toEqual({ status: 'unavailable', reason: expect.stringMatching(/redis/) });
    // The API itself works without Redis: a client can already get a token and make a room.
    const user = await issueToken(instance.url);
    const room = await createRoom(instance.url, user.token);

    // It keeps retrying, one warning per attempt and connection.
    const unreachable = () => instance.stdout.filter((line) => line.includes('redis unreachable'));
    await until(() => unreachable().length >= 6, 10_000, 'several retries to be logged');
    for (const line of unreachable()) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({ level: 40, msg: 'redis unreachable; retrying', role: expect.stringMatching(/^(command|subscriber)$/) });
      expect(entry.error).toMatch(/ECONNREFUSED/);
      expect(line).not.toMatch(/stack|\\n\s+at /);
    }
    expect(instance.stdout.filter((line) => /^\s+at /.test(line) || line.includes('"stack"'))).toEqual([]);
    expect(instance.stderr.join('\n')).toBe('');
    expect(instance.running).toBe(true);

    await cluster.startRedis(port);
    const arrivedAt = Date.now();
    await instance.waitForHealth(200, 5_000);
    expect(Date.now() - arrivedAt).toBeLessThan(5_000);

    // Live delivery works: once the subscription is live, each message sent reaches it through Redis.
    const subscriber = instance.messages(user, room.id);
    const probe = await probeUntilLive(instance, user, room.id, [subscriber], 5_000);
    const sent = await sendMessage(instance.url, user.token, room.id, 'hello, Redis');
    await until(() => seqsOf(subscriber).at(-1) === sent.seq, 2_000, 'the message to arrive');
    expect(seqsOf(subscriber).slice(-2)).toEqual([probe.seq, sent.seq]);
  });
});
