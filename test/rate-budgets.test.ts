import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createChatClient, memoryStorage, type ChatClient } from 'chat-api/sdk';
import { ConfigError, loadConfig } from '../src/config.js';
import { DEFAULT_RATE_LIMITS } from '../src/transports/budgets/budgets.config.js';
import { budgetAddress } from '../src/transports/budgets/client-ip.js';
import { createRoom, lobbyId, type TestUser } from './helpers/chat.js';
import { EventQueue } from './helpers/events.js';
import type { GraphQLResponse } from './helpers/graphql.js';
import { REPORT_MESSAGE, SEND, storedBodies } from './helpers/moderation.js';
import { configEnv } from './helpers/processes.js';
import { startServer, testConfig, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { firstResult, TRANSPORTS, wsFirst } from './helpers/transports.js';
import { until } from './helpers/wait.js';
import { subscribe, wsClient } from './helpers/ws.js';

// The rate budgets with their defaults (RATE_LIMITS on), as a server on the internet runs them.

const ISSUE = 'mutation($n: String) { issueToken(nickname: $n) { token expiresAt user { id nickname tag handle } } }';
const TYPING = 'mutation($r: ID!) { setTyping(roomId: $r, typing: true) }';
const MATCH = 'subscription($t: String) { matchFound(topic: $t) { room { id } } }';

/** An HTTP GraphQL request from `ip` (as X-Forwarded-For names it behind TRUST_PROXY), with an optional token. */
async function post<T = any>(url: string, query: string, variables: Record<string, unknown>, options: { token?: string; forwardedFor?: string } = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as GraphQLResponse<T>;
}

let addresses = 0;
/** A user minted from an address of its own (10.x.y.z through the trusted proxy), so minting stays within budget. */
async function user(url: string): Promise<TestUser> {
  addresses += 1;
  const result = await post<{ issueToken: TestUser }>(url, ISSUE, {}, { forwardedFor: `10.0.${addresses >> 8}.${addresses & 255}` });
  if (!result.data?.issueToken) throw new Error(JSON.stringify(result.errors));
  return result.data.issueToken;
}

function expectRateLimited(result: GraphQLResponse, maxSeconds: number): void {
  expect(result.errors?.[0]?.extensions?.code, JSON.stringify(result)).toBe('RATE_LIMITED');
  const retryAfter = result.errors![0]!.extensions!.retryAfterSeconds as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
}

describe('rate budgets (defaults)', () => {
  let server: TestServer;
  let lobby: string;
  beforeAll(async () => {
    // Behind one trusted proxy, so each test's users come from addresses of their own.
    server = await startServer({ rateLimits: DEFAULT_RATE_LIMITS, trustProxy: 1 });
    lobby = await lobbyId(server.url);
  });
  afterAll(() => server.stop());

  it('issueToken: three identities at once per address, then RATE_LIMITED with retryAfterSeconds; other addresses are unaffected', async () => {
    const from = '192.0.2.1';
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await post(server.url, ISSUE, { n: `Minter${i}` }, { forwardedFor: from }));
    expect(results.slice(0, 3).every((r) => r.data?.issueToken?.token)).toBe(true);
    expectRateLimited(results[3]!, 6);
    expect(results[3]!.data?.issueToken ?? null).toBeNull();
    expect(results[3]!.errors![0]!.message).toMatch(/issueToken per address/);
    expect((await post(server.url, ISSUE, {}, { forwardedFor: '192.0.2.2' })).data?.issueToken?.token).toBeTruthy();
  });

  it.each(TRANSPORTS.filter((t) => t !== 'sse'))('sendMessage over %s: ten at once, the eleventh RATE_LIMITED and not stored; another user still sends', async (transport) => {
    const [alice, bob] = await Promise.all([user(server.url), user(server.url)]);
    const room = await createRoom(server.url, alice.token);
    const send = (token: string, body: string) => firstResult(transport, server, SEND, { roomId: room.id, body }, token);
    for (let i = 1; i <= 10; i++) expect((await send(alice.token, `m${i}`)).data?.sendMessage?.seq, `send ${i}`).toBe(i);
    const refused = await send(alice.token, 'one too many');
    expectRateLimited(refused, 5);
    expect(refused.errors![0]!.path).toEqual(['sendMessage']);
    expect(await storedBodies(server.url, room.id)).not.toContain('one too many');
    expect((await send(bob.token, 'from bob')).data?.sendMessage?.body).toBe('from bob');
  });

  it('the budget decays: after retryAfterSeconds the next message goes through', async () => {
    const alice = await user(server.url);
    const room = await createRoom(server.url, alice.token);
    for (let i = 0; i < 10; i++) await post(server.url, SEND, { roomId: room.id, body: `m${i}` }, { token: alice.token });
    const refused = await post(server.url, SEND, { roomId: room.id, body: 'early' }, { token: alice.token });
    expectRateLimited(refused, 5);
    const wait = refused.errors![0]!.extensions!.retryAfterSeconds as number;
    await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 50)); // the wait the server asked for
    expect((await post(server.url, SEND, { roomId: room.id, body: 'later' }, { token: alice.token })).data?.sendMessage?.body).toBe('later');
  }, 15_000);

  it('every alias spends: a mutation of more sendMessage aliases than are left is refused whole and stores nothing', async () => {
    const alice = await user(server.url);
    const room = await createRoom(server.url, alice.token);
    for (let i = 0; i < 6; i++) await post(server.url, SEND, { roomId: room.id, body: `single ${i}` }, { token: alice.token });
    // Five aliases (the most a mutation may hold) where four are left: refused whole.
    const aliases = Array.from({ length: 5 }, (_, i) => `m${i}: sendMessage(input: { roomId: $r, body: "alias ${i}" }) { id }`).join('\n');
    const result = await post(server.url, `mutation($r: ID!) { ${aliases} }`, { r: room.id }, { token: alice.token });
    expectRateLimited(result, 60);
    expect(result.data ?? null).toBeNull();
    expect((await storedBodies(server.url, room.id)).filter((body) => body.startsWith('alias'))).toEqual([]);
  });

  it('sendMessage per room: past 100 at once from many users, the room refuses more, for everyone, and stores only what it took', async () => {
    const users = await Promise.all(Array.from({ length: 16 }, () => user(server.url)));
    const room = await createRoom(server.url, users[0]!.token);
    // 150 at once from 15 users, each within their own budget (10).
    const results = await Promise.all(
      users.slice(0, 15).flatMap((sender, u) => Array.from({ length: 10 }, (_, i) => post(server.url, SEND, { roomId: room.id, body: `u${u} m${i}` }, { token: sender.token }))),
    );
    const refused = results.filter((r) => r.errors);
    expect(refused.length).toBeGreaterThan(0);
    for (const result of refused) {
      expectRateLimited(result, 10);
      expect(result.errors![0]!.message).toMatch(/per room/);
    }
    // seq is gap-free: the newest one is how many the room stored.
    const newest = await post(server.url, 'query($r: ID!) { messages(roomId: $r, last: 1) { edges { node { seq } } } }', { r: room.id });
    expect(newest.data.messages.edges[0].node.seq).toBe(150 - refused.length);
    // A user with budget left is refused there too, but not in another room. The room refills
    // 10 a second meanwhile: nine at once, within the user's own budget of ten (one left for
    // the other room), cannot all pass unless most of a second went by since the burst.
    const late = await Promise.all(Array.from({ length: 9 }, (_, i) => post(server.url, SEND, { roomId: room.id, body: `room is full ${i}` }, { token: users[15]!.token })));
    const lateRefused = late.filter((r) => r.errors);
    expect(lateRefused.length).toBeGreaterThan(0);
    for (const result of lateRefused) {
      expectRateLimited(result, 10);
      expect(result.errors![0]!.message).toMatch(/per room/);
    }
    const other = await createRoom(server.url, users[15]!.token);
    expect((await post(server.url, SEND, { roomId: other.id, body: 'elsewhere' }, { token: users[15]!.token })).data?.sendMessage?.body).toBe('elsewhere');
  }, 30_000);

  it('createRoom: five at once per user, the sixth RATE_LIMITED and not created', async () => {
    const alice = await user(server.url);
    const create = (title: string) => post(server.url, 'mutation($t: String!) { createRoom(input: { title: $t }) { id } }', { t: title }, { token: alice.token });
    for (let i = 0; i < 5; i++) expect((await create(`budget room ${i}`)).data?.createRoom?.id).toBeTruthy();
    expectRateLimited(await create('budget room 5'), 60);
    const titles = await post<{ rooms: { edges: { node: { title: string } }[] } }>(server.url, '{ rooms(first: 100) { edges { node { title } } } }', {});
    expect(titles.data!.rooms.edges.map((e) => e.node.title)).not.toContain('budget room 5');
  });

  it('openDirectRoom: ten at once per user, then RATE_LIMITED', async () => {
    const [alice, bob] = await Promise.all([user(server.url), user(server.url)]);
    const open = () => post(server.url, 'mutation($u: ID!) { openDirectRoom(userId: $u) { id } }', { u: bob.user.id }, { token: alice.token });
    for (let i = 0; i < 10; i++) expect((await open()).data?.openDirectRoom?.id).toBeTruthy();
    expectRateLimited(await open(), 5);
  });

  it('setTyping over graphql-ws: ten at once per user, then RATE_LIMITED; the socket stays open for the rest', async () => {
    const alice = await user(server.url);
    const client = wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    try {
      for (let i = 0; i < 10; i++) expect((await wsFirst(client, TYPING, { r: lobby })).data?.setTyping).toBe(true);
      expectRateLimited(await wsFirst(client, TYPING, { r: lobby }), 1);
      expect((await wsFirst(client, '{ room(id: "' + lobby + '") { title } }', {})).data?.room?.title).toBe('lobby');
    } finally {
      await client.dispose();
    }
  });

  it('reportMessage: five at once per user, then RATE_LIMITED', async () => {
    const [alice, bob] = await Promise.all([user(server.url), user(server.url)]);
    const sent = await post(server.url, SEND, { roomId: lobby, body: 'report me' }, { token: bob.token });
    const messageId = sent.data.sendMessage.id as string;
    const report = () => post(server.url, REPORT_MESSAGE, { messageId, reason: 'spam' }, { token: alice.token });
    for (let i = 0; i < 5; i++) expect((await report()).errors).toBeUndefined();
    expectRateLimited(await report(), 10);
  });

  it.each(TRANSPORTS.filter((t) => t !== 'http'))('matchFound over %s: five waits at once per user, the sixth is refused before it queues', async (transport) => {
    const alice = await user(server.url);
    if (transport === 'ws') {
      const client = wsClient(server.wsUrl, { authorization: `Bearer ${alice.token}` });
      try {
        // Six waits at once (no partner comes): five queue, one is refused.
        const waits = Array.from({ length: 6 }, () => subscribe(client, MATCH, { t: 'solo-ws' }));
        const refusals: unknown[] = [];
        for (const wait of waits) void wait.error(10_000).then((error) => refusals.push(error), () => {});
        await until(() => refusals.length > 0, 10_000, 'one wait to be refused');
        const errors = refusals[0] as { extensions?: Record<string, unknown> }[];
        expectRateLimited({ errors: errors as GraphQLResponse['errors'] }, 5);
        expect(refusals).toHaveLength(1);
      } finally {
        await client.dispose();
      }
      return;
    }
    // SSE: the refusal is the stream's first event; the five before it wait (and are aborted) unseen.
    const aborts = Array.from({ length: 5 }, () => new AbortController());
    await Promise.all(
      aborts.map((abort) =>
        fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice.token}` },
          body: JSON.stringify({ query: MATCH, variables: { t: 'solo-sse' } }),
          signal: abort.signal,
        }),
      ),
    );
    try {
      expectRateLimited(await firstResult('sse', server, MATCH, { t: 'solo-sse' }, alice.token), 5);
    } finally {
      for (const abort of aborts) abort.abort();
    }
  });

  it('reading is never budgeted: 100 queries at once from one address all answer', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, () => post(server.url, '{ rooms(first: 5) { edges { node { id } } } }', {})));
    expect(results.every((r) => r.errors === undefined)).toBe(true);
  });

  it('a person chatting at a human pace is never limited: a burst of replies, then a message every few seconds', async () => {
    const alice = await user(server.url);
    const room = await createRoom(server.url, alice.token);
    // Five quick replies, typing notices while writing, then two more after a pause.
    for (let i = 0; i < 5; i++) {
      expect((await post(server.url, TYPING, { r: room.id }, { token: alice.token })).data?.setTyping).toBe(true);
      expect((await post(server.url, SEND, { roomId: room.id, body: `quick ${i}` }, { token: alice.token })).data?.sendMessage).toBeTruthy();
    }
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 2_500)); // a person's pause between messages
      expect((await post(server.url, SEND, { roomId: room.id, body: `later ${i}` }, { token: alice.token })).data?.sendMessage).toBeTruthy();
    }
  }, 15_000);
});

describe('rate budgets and the SDK', () => {
  let server: TestServer;
  let proxy: TcpProxy;
  const clients: ChatClient[] = [];
  beforeAll(async () => {
    server = await startServer({ rateLimits: DEFAULT_RATE_LIMITS });
    proxy = await startTcpProxy(server.app.port);
  });
  afterAll(async () => {
    await Promise.all(clients.map((chat) => chat.close()));
    await proxy.close();
    await server.stop();
  });

  it("a client's reconnect bursts (five network cuts in a row, subscriptions resumed each time) stay within every budget", async () => {
    const chat = createChatClient({ url: proxy.url, storage: memoryStorage(), webSocketImpl: WebSocket, retryDelayMs: () => 50 });
    clients.push(chat);
    const { user: me } = await chat.ready();
    const room = await chat.createRoom('reconnects');
    const failures = new EventQueue<unknown>('a subscription failure');
    const messages = new EventQueue<{ body: string }>('a message');
    chat.messageAdded({ roomId: room.id }, { next: (m) => messages.push(m), error: (e) => failures.push(e) });
    chat.participantCount({ roomId: room.id }, { next: () => {}, error: (e) => failures.push(e) });
    chat.typing({ roomId: room.id }, { next: () => {}, error: (e) => failures.push(e) });
    chat.notices({ next: () => {}, error: (e) => failures.push(e) });
    chat.directMessageAdded({ next: () => {}, error: (e) => failures.push(e) });
    await until(() => chat.state === 'online', 5_000, 'online');
    // Live before the first cut: from then on the SDK resumes after the last message it delivered.
    await chat.sendMessage({ roomId: room.id, body: 'seed' });
    await messages.next(5_000);
    for (let cut = 0; cut < 5; cut++) {
      proxy.cut();
      await until(() => chat.state === 'online', 10_000, `online again after cut ${cut + 1}`);
      await chat.sendMessage({ roomId: room.id, body: `after cut ${cut + 1}` });
    }
    await until(() => messages.received.filter((m) => m.body.startsWith('after cut')).length === 5, 10_000, 'every message after the cuts');
    expect(failures.received).toEqual([]);
    expect(me.handle).toBeTruthy();
  }, 60_000);
});

describe('RATE_LIMITS and TRUST_PROXY configuration', () => {
  const problemsOf = (env: Record<string, string>): string[] => {
    try {
      loadConfig(env);
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('defaults to the documented budgets, RATE_LIMITS=off turns every one off, each one can be set', () => {
    expect(loadConfig({}).rateLimits).toEqual(DEFAULT_RATE_LIMITS);
    expect(loadConfig({ RATE_LIMITS: 'off' }).rateLimits).toBeNull();
    const limits = loadConfig({ RATE_LIMIT_SEND_MESSAGE_USER: '1,30', MAX_SOCKETS_PER_USER: '5' }).rateLimits!;
    expect(limits.operations.sendMessageUser).toEqual({ perSecond: 1, burst: 30 });
    expect(limits.socketsPerUser).toBe(5);
    expect(loadConfig({}).trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: 'on' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
  });

  it('server processes the tests start get the same budgets through their environment (RATE_LIMITS=off by default)', () => {
    const custom = { ...DEFAULT_RATE_LIMITS, socketsPerUser: 3, operations: { ...DEFAULT_RATE_LIMITS.operations, setTypingUser: { perSecond: 2.5, burst: 4 } } };
    for (const [rateLimits, trustProxy] of [[null, 0], [DEFAULT_RATE_LIMITS, 1], [custom, 2]] as const) {
      const config = testConfig({ rateLimits, trustProxy });
      const loaded = loadConfig(configEnv(config));
      rmSync(config.dataDir, { recursive: true, force: true });
      expect(loaded.rateLimits).toEqual(rateLimits);
      expect(loaded.trustProxy).toBe(trustProxy);
    }
  });

  it('reports bad values, every one at once', () => {
    const problems = problemsOf({ RATE_LIMITS: 'maybe', RATE_LIMIT_ISSUE_TOKEN_IP: '0,3', MAX_SOCKETS_PER_IP: 'lots', TRUST_PROXY: 'yes' });
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/RATE_LIMITS must be on or off/);
    expect(problems.join('\n')).toMatch(/RATE_LIMIT_ISSUE_TOKEN_IP must be/);
    expect(problems.join('\n')).toMatch(/MAX_SOCKETS_PER_IP must be/);
    expect(problems.join('\n')).toMatch(/TRUST_PROXY must be/);
  });
});

describe('budget addresses', () => {
  it('IPv4 as it is (also mapped into IPv6), IPv6 per /64', () => {
    expect(budgetAddress('203.0.113.7')).toBe('203.0.113.7');
    expect(budgetAddress('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(budgetAddress('2001:db8:1:2::5')).toBe('2001:db8:1:2::/64');
    expect(budgetAddress('2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(budgetAddress('::1')).toBe('0:0:0:0::/64');
  });
});

describe('TRUST_PROXY: who the client is', () => {
  const mint = (url: string, forwardedFor?: string) => post(url, ISSUE, {}, { forwardedFor });

  it('off (the default): X-Forwarded-For is ignored, so a client cannot mint a fresh budget by naming another address', async () => {
    const server = await startServer({ rateLimits: DEFAULT_RATE_LIMITS });
    try {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await mint(server.url, `198.51.100.${i}`));
      expect(results.slice(0, 3).every((r) => r.data?.issueToken)).toBe(true);
      expectRateLimited(results[3]!, 6);
    } finally {
      await server.stop();
    }
  });

  it("on: the proxy's entry (the last) names the client; entries the client put before it change nothing", async () => {
    const server = await startServer({ rateLimits: DEFAULT_RATE_LIMITS, trustProxy: 1 });
    try {
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await mint(server.url, `203.0.113.${i}, 198.51.100.7`));
      expect(results.slice(0, 3).every((r) => r.data?.issueToken)).toBe(true);
      expectRateLimited(results[3]!, 6);
      // Another client behind the same proxy has its own budget.
      expect((await mint(server.url, '198.51.100.8')).data?.issueToken).toBeTruthy();
      // IPv6 clients count per /64.
      const v6 = [];
      for (let i = 1; i <= 4; i++) v6.push(await mint(server.url, `2001:db8:1:2::${i}`));
      expectRateLimited(v6[3]!, 6);
    } finally {
      await server.stop();
    }
  });
});
