import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { Cluster, probeUntilLive, range, seqsOf, type Instance } from './helpers/cluster.js';
import { allMessages } from './helpers/pages.js';
import { dialect, redisUrl } from './helpers/server.js';
import { until } from './helpers/wait.js';

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: messages across two instances', () => {
  const cluster = new Cluster();
  let a: Instance;
  let b: Instance;
  let users: TestUser[];
  beforeAll(async () => {
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl! });
    // Tokens are signed with the shared secret, so each works on either instance.
    users = await Promise.all([issueToken(a.url), issueToken(b.url), issueToken(a.url), issueToken(b.url)]);
  }, 60_000);
  afterAll(() => cluster.stop());

  it('delivers messages sent to either instance to subscribers on both, all in one order, none missing or doubled', async () => {
    const room = await createRoom(a.url, users[0]!.token);
    const subscribers = [a.messages(users[0]!, room.id), a.messages(users[1]!, room.id), b.messages(users[2]!, room.id), b.messages(users[3]!, room.id)];
    const probe = await probeUntilLive(a, users[0]!, room.id, subscribers);

    // Four concurrent loops, each alternating between A and B: both instances write the room at once.
    const COUNT = 60;
    const sent: SentMessage[] = [];
    let next = 0;
    await Promise.all(
      users.map(async (user) => {
        for (let n = next++; n < COUNT; n = next++) sent.push(await sendMessage((n % 2 === 0 ? a : b).url, user.token, room.id, `message ${n}`));
      }),
    );

    // seq is unique and gap-free although two processes claimed it concurrently.
    const expected = range(probe.seq + 1, probe.seq + COUNT);
    expect(sent.map((m) => m.seq).sort((x, y) => x - y)).toEqual(expected);

    await until(() => subscribers.every((s) => seqsOf(s).at(-1)! >= probe.seq + COUNT), 10_000, 'every subscriber to get every message');
    // One more through each instance alone: it must cross over live, not wait for a later event to reveal the gap.
    let last = probe.seq + COUNT;
    for (const [target, user] of [[a, users[0]!], [b, users[3]!]] as const) {
      last = (await sendMessage(target.url, user.token, room.id, `only via ${target.name}`)).seq;
      await until(() => subscribers.every((s) => seqsOf(s).at(-1) === last), 2_000, `the message sent via ${target.name} on both instances`);
    }

    const history = await allMessages(b.url, room.id);
    expect(history.map((m) => m.seq)).toEqual(range(1, last));
    const bySeq = new Map(history.map((m) => [m.seq, { id: m.id, seq: m.seq, body: m.body }]));
    for (const subscriber of subscribers) {
      // From the first event on, each subscriber saw exactly the room's history, in order.
      const first = seqsOf(subscriber)[0]!;
      expect(first).toBeLessThanOrEqual(probe.seq);
      expect(subscriber.received.map((e) => e.messageAdded)).toEqual(range(first, last).map((seq) => bySeq.get(seq)));
    }
  });

  it('keeps each room’s seq its own while both instances write two rooms at once', async () => {
    const [red, blue] = await Promise.all([createRoom(a.url, users[0]!.token), createRoom(b.url, users[1]!.token)]);
    const onRed = [a.messages(users[0]!, red.id), b.messages(users[1]!, red.id)];
    const onBlue = [a.messages(users[2]!, blue.id), b.messages(users[3]!, blue.id)];
    const [redProbe, blueProbe] = await Promise.all([probeUntilLive(a, users[0]!, red.id, onRed), probeUntilLive(b, users[1]!, blue.id, onBlue)]);

    const COUNT = 20;
    await Promise.all(
      users.map(async (user, i) => {
        for (let n = 0; n < COUNT / 2; n++) await sendMessage((n % 2 === 0 ? a : b).url, user.token, i % 2 === 0 ? red.id : blue.id, `${i}/${n}`);
      }),
    );
    const lastRed = redProbe.seq + COUNT;
    const lastBlue = blueProbe.seq + COUNT;
    await until(() => [...onRed.map((s) => seqsOf(s).at(-1) === lastRed), ...onBlue.map((s) => seqsOf(s).at(-1) === lastBlue)].every(Boolean), 10_000, 'both rooms delivered');
    for (const [subscriber, last] of [...onRed.map((s) => [s, lastRed] as const), ...onBlue.map((s) => [s, lastBlue] as const)]) {
      expect(seqsOf(subscriber)).toEqual(range(seqsOf(subscriber)[0]!, last));
    }
    expect((await allMessages(a.url, red.id)).map((m) => m.seq)).toEqual(range(1, lastRed));
    expect((await allMessages(a.url, blue.id)).map((m) => m.seq)).toEqual(range(1, lastBlue));
  });
});
