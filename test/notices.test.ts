import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, type TestUser } from './helpers/chat.js';
import { errorCode, gql } from './helpers/graphql.js';
import { ADMIN_TOKEN, NOTICES, SEND_NOTICE, sendNotice, type NoticeEvent } from './helpers/moderation.js';
import { sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { firstResult, wsFirst } from './helpers/transports.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

/** A notices stream as the tests read it, whatever the transport. */
interface NoticeStream {
  next(ms?: number): Promise<NoticeEvent>;
  take(count: number, ms?: number): Promise<NoticeEvent[]>;
  received: NoticeEvent[];
}

/**
 * Sends notices to everyone until each stream has received one, then reads
 * every stream up to date, so what is sent next is each stream's next event.
 */
async function untilLive(url: string, streams: NoticeStream[]): Promise<void> {
  await until(async () => {
    const probe = await sendNotice(url, 'probe');
    const seen = () => streams.every((stream) => stream.received.some((event) => event.notices.id === probe.id));
    await until(seen, 300, 'the probe').catch(() => {});
    return seen();
  }, 10_000, 'every notices stream to be live');
  await Promise.all(streams.map((stream) => stream.take(stream.received.length)));
}

describe('notices', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startServer({ adminToken: ADMIN_TOKEN });
    [alice, bob] = await Promise.all([issueToken(server.url), issueToken(server.url)]);
  });
  afterAll(() => server?.stop());

  it('checks the body and the user, and answers with the notice', async () => {
    for (const body of ['', '   ', 'x'.repeat(2001), 'ring\u0007']) {
      expect(errorCode(await gql(server.url, SEND_NOTICE, { body }, ADMIN_TOKEN)), JSON.stringify(body.slice(0, 8))).toBe('BAD_USER_INPUT');
    }
    for (const userId of ['00000000-0000-7000-8000-00000000ffff', 'someone']) {
      expect(errorCode(await gql(server.url, SEND_NOTICE, { body: 'hi', userId }, ADMIN_TOKEN))).toBe('NOT_FOUND');
    }
    const everyone = await sendNotice(server.url, '  Maintenance\tat noon  ');
    expect(everyone).toMatchObject({ body: 'Maintenance\tat noon', audience: 'EVERYONE' });
    expect(everyone.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(everyone.createdAt)).toBeGreaterThan(Date.now() - 10_000);
    expect(await sendNotice(server.url, 'just you', alice.user.id)).toMatchObject({ body: 'just you', audience: 'USER' });
  });

  it('needs a user: no token, or only the operators’, is UNAUTHENTICATED', async () => {
    expect(errorCode(await firstResult('sse', server, NOTICES, {}, null))).toBe('UNAUTHENTICATED');
    expect(errorCode(await firstResult('sse', server, NOTICES, {}, ADMIN_TOKEN))).toBe('UNAUTHENTICATED');
    const operator = wsClient(server.wsUrl, { authorization: `Bearer ${ADMIN_TOKEN}` });
    try {
      expect(errorCode(await wsFirst(operator, NOTICES, {}))).toBe('UNAUTHENTICATED');
      // The operator socket sends notices as HTTP does.
      expect(await wsFirst(operator, SEND_NOTICE, { body: 'from a socket' })).toMatchObject({ data: { sendNotice: { body: 'from a socket', audience: 'EVERYONE' } } });
    } finally {
      await operator.dispose();
    }
  });

  it('delivers EVERYONE notices to every subscriber and USER notices to every socket of that user only, from now on', async () => {
    await sendNotice(server.url, 'before anyone listened');
    const aliceSockets = [wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` }), wsClient(server.wsUrl, { token: alice.token })];
    const bobSocket = wsClient(server.wsUrl, { authorization: `Bearer ${bob.token}` });
    const aliceOverWs = aliceSockets.map((client) => subscribe<NoticeEvent>(client, NOTICES));
    const aliceOverSse = sseSubscribe<NoticeEvent>(server.url, NOTICES, {}, alice.token);
    const bobOverWs = subscribe<NoticeEvent>(bobSocket, NOTICES);
    const bobOverSse = sseSubscribe<NoticeEvent>(server.url, NOTICES, {}, bob.token);
    const alices: NoticeStream[] = [...aliceOverWs, aliceOverSse];
    const bobs: NoticeStream[] = [bobOverWs, bobOverSse];
    await untilLive(server.url, [...alices, ...bobs]);
    for (const stream of [...alices, ...bobs]) expect(stream.received.map((event) => event.notices.body)).not.toContain('before anyone listened');

    const forAlice = await sendNotice(server.url, 'your account', alice.user.id);
    for (const stream of alices) expect((await stream.next()).notices).toEqual(forAlice);
    const forEveryone = await sendNotice(server.url, 'to all');
    for (const stream of alices) expect((await stream.next()).notices).toEqual(forEveryone);
    // Bob's next notice is the one for everyone: Alice's never reached him.
    for (const stream of bobs) expect((await stream.next()).notices).toEqual(forEveryone);

    const forBob = await sendNotice(server.url, 'yours, Bob', bob.user.id);
    for (const stream of bobs) expect((await stream.next()).notices).toMatchObject({ body: 'yours, Bob', audience: 'USER', id: forBob.id });
    const last = await sendNotice(server.url, 'last');
    for (const stream of alices) expect((await stream.next()).notices.id).toBe(last.id);

    aliceOverSse.close();
    bobOverSse.close();
    await Promise.all([...aliceSockets, bobSocket].map((client) => client.dispose()));
  });

  it('ends a notices subscription cleanly: a later notice reaches only who still listens', async () => {
    const staying = wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    const leaving = wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    const stays = subscribe<NoticeEvent>(staying, NOTICES);
    const leaves = subscribe<NoticeEvent>(leaving, NOTICES);
    await untilLive(server.url, [stays, leaves]);
    leaves.unsubscribe();
    const after = await sendNotice(server.url, 'after one left', alice.user.id);
    expect((await stays.next()).notices.id).toBe(after.id);
    expect(leaves.received.map((event) => event.notices.id)).not.toContain(after.id);
    await Promise.all([staying.dispose(), leaving.dispose()]);
  });
});
