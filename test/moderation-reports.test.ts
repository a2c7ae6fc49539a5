import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type SentMessage, type TestUser } from './helpers/chat.js';
import { OPEN_DIRECT_ROOM } from './helpers/direct-rooms.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { ADMIN_TOKEN, REPORT_MESSAGE, REPORTS, type ReportEvent } from './helpers/moderation.js';
import { sseSubscribe } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { firstResult, TRANSPORTS } from './helpers/transports.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

describe('reports', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let roomId: string;
  let message: SentMessage;
  beforeAll(async () => {
    server = await startServer({ adminToken: ADMIN_TOKEN });
    [alice, bob, carol] = await Promise.all([issueToken(server.url), issueToken(server.url), issueToken(server.url)]);
    roomId = (await createRoom(server.url, alice.token)).id;
    message = await sendMessage(server.url, alice.token, roomId, 'something rude');
  });
  afterAll(() => server?.stop());

  it('checks the reporter, the message and the reason', async () => {
    expect(errorCode(await gql(server.url, REPORT_MESSAGE, { messageId: message.id }))).toBe('UNAUTHENTICATED');
    // The operators' bearer is not a user.
    expect(errorCode(await gql(server.url, REPORT_MESSAGE, { messageId: message.id }, ADMIN_TOKEN))).toBe('UNAUTHENTICATED');
    for (const messageId of ['00000000-0000-7000-8000-00000000ffff', roomId, 'nope', 'x\u0000y']) {
      expect(errorCode(await gql(server.url, REPORT_MESSAGE, { messageId }, bob.token)), messageId).toBe('NOT_FOUND');
    }
    const tooLong = await gql(server.url, REPORT_MESSAGE, { messageId: message.id, reason: 'x'.repeat(501) }, bob.token);
    expect(errorCode(tooLong)).toBe('BAD_USER_INPUT');
    expect(tooLong.errors![0]!.message).toMatch(/at most 500 characters/);
    expect(errorCode(await gql(server.url, REPORT_MESSAGE, { messageId: message.id, reason: 'bad\u0007bell' }, bob.token))).toBe('BAD_USER_INPUT');
  });

  it('reaches every operator subscribed over graphql-ws and SSE, once per reporter and message', async () => {
    const operator = wsClient(server.wsUrl, { authorization: `Bearer ${ADMIN_TOKEN}` });
    const overWs = subscribe<ReportEvent>(operator, REPORTS);
    const overSse = sseSubscribe<ReportEvent>(server.url, REPORTS, {}, ADMIN_TOKEN);
    await overSse.ready;
    // Both live once one report reaches both (the WebSocket one starts after its socket connects);
    // each probe is a new message, since reporting one again would announce nothing.
    await until(async () => {
      const probe = await sendMessage(server.url, carol.token, roomId, 'probe');
      await gqlOk(server.url, REPORT_MESSAGE, { messageId: probe.id }, carol.token);
      const seen = (events: ReportEvent[]) => events.some((event) => event.reports.message.id === probe.id);
      await until(() => seen(overWs.received) && seen(overSse.received), 1_000, 'the probe').catch(() => {});
      return seen(overWs.received) && seen(overSse.received);
    }, 5_000, 'both report streams to be live');
    const [seenOverWs, seenOverSse] = [overWs.received.length, overSse.received.length];
    await Promise.all([overWs.take(seenOverWs), overSse.take(seenOverSse)]);

    // 500 characters are fine, counted as characters (an emoji is one).
    const reason = `${'🙄'.repeat(499)}!`;
    expect(await gqlOk(server.url, REPORT_MESSAGE, { messageId: message.id, reason: `  ${reason}  ` }, bob.token)).toEqual({ reportMessage: true });
    for (const stream of [overWs, overSse]) {
      const { reports } = await stream.next();
      expect(reports).toMatchObject({ reason, message: { id: message.id, body: 'something rude', roomId }, reporter: { id: bob.user.id, handle: bob.user.handle } });
      expect(reports.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Date.parse(reports.createdAt)).toBeGreaterThan(Date.now() - 10_000);
    }

    // Again, on every transport, with another reason: true, and nothing changes (no second report).
    for (const transport of TRANSPORTS) {
      expect(await firstResult(transport, server, REPORT_MESSAGE, { messageId: message.id, reason: 'again' }, bob.token)).toEqual({ data: { reportMessage: true } });
    }
    // Another reporter's report is the next thing operators see; an empty reason is none.
    expect(await gqlOk(server.url, REPORT_MESSAGE, { messageId: message.id, reason: '   ' }, carol.token)).toEqual({ reportMessage: true });
    for (const stream of [overWs, overSse]) {
      expect((await stream.next()).reports).toMatchObject({ reason: null, reporter: { id: carol.user.id }, message: { id: message.id } });
    }
    expect([overWs.received.length, overSse.received.length]).toEqual([seenOverWs + 2, seenOverSse + 2]);
    overSse.close();
    await operator.dispose();
  });

  it('is for operators only: a user is refused before any event, on every subscription transport', async () => {
    for (const transport of ['ws', 'sse'] as const) {
      expect(errorCode(await firstResult(transport, server, REPORTS, {}, bob.token)), transport).toBe('FORBIDDEN');
    }
    expect(errorCode(await firstResult('sse', server, REPORTS, {}, null))).toBe('FORBIDDEN');
    expect(errorCode(await firstResult('sse', server, REPORTS, {}, `${ADMIN_TOKEN}x`))).toBe('FORBIDDEN');
  });

  it("needs access to the message's room: not for a DIRECT room's outsider", async () => {
    const direct = (await gqlOk(server.url, OPEN_DIRECT_ROOM, { userId: bob.user.id }, alice.token)).openDirectRoom;
    const secret = await sendMessage(server.url, alice.token, direct.id, 'between us');
    expect(errorCode(await gql(server.url, REPORT_MESSAGE, { messageId: secret.id }, carol.token))).toBe('FORBIDDEN');
    expect(await gqlOk(server.url, REPORT_MESSAGE, { messageId: secret.id }, bob.token)).toEqual({ reportMessage: true });
  });
});
