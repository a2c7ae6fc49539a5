import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, type TestUser } from './helpers/chat.js';
import { Cluster, type Instance } from './helpers/cluster.js';
import { gqlOk } from './helpers/graphql.js';
import { dialect, redisUrl } from './helpers/server.js';
import { PARTICIPANTS, setTyping, watchTyping } from './helpers/typing.js';
import { until } from './helpers/wait.js';

const LAPSE_MS = 5_000;

describe.skipIf(!redisUrl || dialect !== 'postgres')('scale out: who is here and who is typing, across two instances', () => {
  const cluster = new Cluster();
  let a: Instance;
  let b: Instance;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let dave: TestUser;
  const sorted = (...users: TestUser[]) => users.map((u) => u.user.id).sort();

  beforeAll(async () => {
    const database = await cluster.database();
    [a, b] = await cluster.startReadyPair({ database, redisUrl: redisUrl! });
    [alice, bob, carol, dave] = await Promise.all([issueToken(a.url), issueToken(b.url), issueToken(a.url), issueToken(b.url)]);
  }, 60_000);
  afterAll(() => cluster.stop());

  it('typing set on either instance reaches subscribers on both: the current set first, changes, the lapse', async () => {
    const room = await createRoom(a.url, alice.token);
    // Bob types through B before anyone watches; Alice, arriving on A, is told at once.
    await setTyping(b.url, bob.token, room.id, true);
    const onA = watchTyping(a.client(alice), room.id);
    expect((await onA.next()).ids).toEqual(sorted(bob));
    const onB = watchTyping(b.client(carol), room.id);
    expect((await onB.next()).ids).toEqual(sorted(bob));

    await setTyping(a.url, dave.token, room.id, true);
    expect((await onA.next()).ids).toEqual(sorted(bob, dave));
    expect((await onB.next()).ids).toEqual(sorted(bob, dave));

    // Bob stops through the other instance than the one he started on.
    await setTyping(a.url, bob.token, room.id, false);
    expect((await onA.next()).ids).toEqual(sorted(dave));
    expect((await onB.next()).ids).toEqual(sorted(dave));

    // Alice types through B: Carol sees her, Alice's own subscription on A does not.
    await setTyping(b.url, alice.token, room.id, true);
    expect((await onB.next()).ids).toEqual(sorted(alice, dave));

    // Dave said true once, on A: he lapses 5 s later on both, as does Alice.
    const daveLapsed = await onA.next(LAPSE_MS + 3_000);
    expect(daveLapsed.ids).toEqual([]);
    await until(() => onB.received.at(-1)!.ids.length === 0, LAPSE_MS + 3_000, 'everyone to lapse on B');
    expect(onA.received.map((e) => e.ids)).toEqual([sorted(bob), sorted(bob, dave), sorted(dave), []]);
    expect(onB.received.map((e) => e.ids).slice(0, 4)).toEqual([sorted(bob), sorted(bob, dave), sorted(dave), sorted(alice, dave)]);
  }, 30_000);

  it('Room.participants lists the users on both instances on both, a user on both once', async () => {
    const room = await createRoom(a.url, alice.token);
    const here = async (instance: Instance, first?: number) => {
      const data = await gqlOk<{ room: { participantCount: number; participants: { id: string }[] } }>(instance.url, PARTICIPANTS, { id: room.id, first });
      return { count: data.room.participantCount, ids: data.room.participants.map((u) => u.id).sort() };
    };
    const bothList = (users: TestUser[]) =>
      until(
        async () => {
          const [onA, onB] = await Promise.all([here(a), here(b)]);
          const want = JSON.stringify({ count: users.length, ids: sorted(...users) });
          return JSON.stringify(onA) === want && JSON.stringify(onB) === want;
        },
        5_000,
        `both instances to list ${users.length} participants`,
      );

    a.messages(alice, room.id);
    b.messages(bob, room.id);
    await bothList([alice, bob]);
    // Alice opens the room on B too; Carol joins on A: three distinct users, never four.
    b.messages(alice, room.id);
    a.messages(carol, room.id);
    await bothList([alice, bob, carol]);
    expect(await here(b, 100)).toEqual({ count: 3, ids: sorted(alice, bob, carol) });
    const one = await here(a, 1);
    expect(one.ids).toHaveLength(1);
    expect(sorted(alice, bob, carol)).toContain(one.ids[0]);
  }, 30_000);
});
