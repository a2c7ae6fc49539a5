import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { Blocklist, wordsOf } from '../src/moderation/blocklist.js';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { ADMIN_TOKEN, BAN_USER, SEND, SEND_NOTICE, SET_SLOW_MODE, setSlowMode, storedBodies, trySend, UNBAN_USER } from './helpers/moderation.js';
import { startServer, type TestServer } from './helpers/server.js';
import { firstResult, wsFirst } from './helpers/transports.js';
import { until } from './helpers/wait.js';
import { rawSocket } from './helpers/realtime.js';
import { wsClient } from './helpers/ws.js';
import { configProblemsOf } from './helpers/config.js';

/** Every operator-only mutation, with arguments that would otherwise be fine. */
function operatorMutations(roomId: string, userId: string): [string, string, Record<string, unknown>][] {
  return [
    ['sendNotice', SEND_NOTICE, { body: 'maintenance at noon' }],
    ['setSlowMode', SET_SLOW_MODE, { roomId, seconds: 5 }],
    ['banUser', BAN_USER, { userId }],
    ['unbanUser', UNBAN_USER, { userId }],
  ];
}

describe('operator access without ADMIN_TOKEN', () => {
  let server: TestServer;
  let alice: TestUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startServer({ adminToken: null });
    alice = await issueToken(server.url);
    roomId = (await createRoom(server.url, alice.token)).id;
  });
  afterAll(() => server?.stop());

  it('refuses every operator mutation, whatever the bearer, and says operator access is off', async () => {
    for (const [name, query, variables] of operatorMutations(roomId, alice.user.id)) {
      for (const token of [null, alice.token, ADMIN_TOKEN]) {
        const result = await gql(server.url, query, variables, token);
        expect(errorCode(result), `${name} with ${token === null ? 'no token' : 'a token'}`).toBe('FORBIDDEN');
        expect(result.errors![0]!.message).toMatch(/ADMIN_TOKEN is not set/);
      }
    }
    // Nothing changed: no slow mode, Alice may send.
    expect((await gqlOk(server.url, 'query($id: ID!) { room(id: $id) { slowModeSeconds } }', { id: roomId })).room.slowModeSeconds).toBe(0);
    await sendMessage(server.url, alice.token, roomId, 'still fine');
  });

  it('refuses the reports subscription over SSE, and a socket that offers an admin token is closed 4403', async () => {
    const sse = await firstResult('sse', server, 'subscription { reports { id } }', {}, ADMIN_TOKEN);
    expect(errorCode(sse)).toBe('FORBIDDEN');
    const raw = rawSocket(server.wsUrl);
    await raw.opened;
    raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(await raw.closed).toEqual({ code: 4403, reason: 'invalid token' });
  });
});

describe('operator access with ADMIN_TOKEN', () => {
  let server: TestServer;
  let alice: TestUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startServer({ adminToken: ADMIN_TOKEN });
    alice = await issueToken(server.url);
    roomId = (await createRoom(server.url, alice.token)).id;
  });
  afterAll(() => server?.stop());

  it("refuses a user's token, no token, and tokens that are almost the admin token", async () => {
    const near = [ADMIN_TOKEN.slice(0, -1), `${ADMIN_TOKEN.slice(0, -1)}X`, `${ADMIN_TOKEN}X`, ADMIN_TOKEN.toUpperCase()];
    for (const [name, query, variables] of operatorMutations(roomId, alice.user.id)) {
      for (const token of [null, alice.token, ...near]) {
        const result = await gql(server.url, query, variables, token);
        expect(errorCode(result), name).toBe('FORBIDDEN');
        expect(result.errors![0]!.message).toMatch(/operators only/);
      }
    }
    expect((await gqlOk(server.url, 'query($id: ID!) { room(id: $id) { slowModeSeconds } }', { id: roomId })).room.slowModeSeconds).toBe(0);
  });

  it('accepts the admin token over HTTP and in connection_init; it is not a user', async () => {
    expect(await gqlOk(server.url, SET_SLOW_MODE, { roomId, seconds: 0 }, ADMIN_TOKEN)).toEqual({ setSlowMode: { id: roomId, slowModeSeconds: 0 } });
    // No user behind it: `me` is null and user-only fields say UNAUTHENTICATED.
    expect(await gqlOk(server.url, '{ me { id } }', {}, ADMIN_TOKEN)).toEqual({ me: null });
    expect(errorCode(await gql(server.url, SEND, { roomId, body: 'hi' }, ADMIN_TOKEN))).toBe('UNAUTHENTICATED');

    const operator = wsClient(server.wsUrl, { authorization: `Bearer ${ADMIN_TOKEN}` });
    try {
      const set = await wsFirst(operator, SET_SLOW_MODE, { roomId, seconds: 7 });
      expect(set).toEqual({ data: { setSlowMode: { id: roomId, slowModeSeconds: 7 } } });
      const messages = await wsFirst(operator, 'subscription($r: ID!) { messageAdded(roomId: $r) { id } }', { r: roomId });
      expect(errorCode(messages)).toBe('UNAUTHENTICATED');
    } finally {
      await operator.dispose();
    }
    // `{ token }` in connection_init works as well.
    const byToken = wsClient(server.wsUrl, { token: ADMIN_TOKEN });
    try {
      expect(await wsFirst(byToken, SET_SLOW_MODE, { roomId, seconds: 0 })).toEqual({ data: { setSlowMode: { id: roomId, slowModeSeconds: 0 } } });
    } finally {
      await byToken.dispose();
    }
    // A user's socket is no operator's.
    expect(errorCode(await firstResult('ws', server, SET_SLOW_MODE, { roomId, seconds: 3 }, alice.token))).toBe('FORBIDDEN');
  });
});

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chat-blocklist-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes an ADMIN_TOKEN of 32 or more printable characters and nothing shorter, never printing it', () => {
    expect(loadConfig({}).adminToken).toBeNull();
    expect(loadConfig({ ADMIN_TOKEN: 'a'.repeat(32) }).adminToken).toBe('a'.repeat(32));
    const short = 'short-secret-31-characters-long';
    const problems = configProblemsOf({ ADMIN_TOKEN: short, PORT: 'eighty' });
    expect(problems).toHaveLength(2);
    expect(problems.find((p) => p.startsWith('ADMIN_TOKEN'))).toMatch(/at least 32/);
    expect(problems.join('\n')).not.toContain(short);
    expect(configProblemsOf({ ADMIN_TOKEN: `${'a'.repeat(20)} ${'b'.repeat(20)}` })[0]).toMatch(/ADMIN_TOKEN/);
  });

  it('reads BLOCKLIST_FILE: one entry a line, blank lines and # comments skipped', () => {
    const file = join(dir, 'words.txt');
    writeFileSync(file, '# words nobody may say\n\ndarn\r\n  Go Away  \n#not this\nCafé\n');
    expect(loadConfig({ BLOCKLIST_FILE: file }).blocklist).toEqual(['darn', 'Go Away', 'Café']);
    expect(loadConfig({}).blocklist).toBeNull();
  });

  it('reports a missing or unreadable BLOCKLIST_FILE, and an entry that could never match', () => {
    expect(configProblemsOf({ BLOCKLIST_FILE: join(dir, 'missing.txt') })).toEqual([expect.stringMatching(/BLOCKLIST_FILE .*missing\.txt.* cannot be read \(ENOENT\)/)]);
    expect(configProblemsOf({ BLOCKLIST_FILE: dir })).toEqual([expect.stringMatching(/cannot be read \(EISDIR\)/)]);
    const file = join(dir, 'odd.txt');
    writeFileSync(file, 'fine\n!!!\n');
    expect(configProblemsOf({ BLOCKLIST_FILE: file })).toEqual([expect.stringMatching(/line 2 has no letter or digit/)]);
  });
});

describe('the blocklist', () => {
  const blocklist = new Blocklist(['darn', 'Go Away', 'Café', 'ﬁx', '42']);

  it('folds case, accents and compatibility forms, and splits words at anything not a letter or digit', () => {
    expect(wordsOf('DÁRN it, Ｃａｆｅ́! ﬁne—ok_1')).toEqual(['darn', 'it', 'cafe', 'fine', 'ok', '1']);
    expect(wordsOf('İstanbul ÉCOLE')).toEqual(['istanbul', 'ecole']);
  });

  it('matches whole words and whole phrases only', () => {
    for (const blocked of ['darn', 'Darn!', 'oh DÁRN it', 'd\u0061\u0301rn', 'please go away', 'GO, away!', 'go\naway', 'un cafe', 'CAFÉ', 'fix it', 'the answer is 42.']) {
      expect(blocklist.blocks(blocked), blocked).toBe(true);
    }
    for (const allowed of ['darning', 'undarn', 'go far away', 'goaway', 'away go', 'cafeteria', 'fixed', '420', 'd-a-r-n', '']) {
      expect(blocklist.blocks(allowed), allowed).toBe(false);
    }
    expect(new Blocklist([]).blocks('darn')).toBe(false);
  });
});

describe('a blocked message', () => {
  let server: TestServer;
  let alice: TestUser;
  let roomId: string;
  const dir = mkdtempSync(join(tmpdir(), 'chat-blocklist-'));
  beforeAll(async () => {
    const file = join(dir, 'blocklist.txt');
    writeFileSync(file, '# the test list\ndarn\ngo away\n');
    server = await startServer({ adminToken: ADMIN_TOKEN, blocklist: loadConfig({ BLOCKLIST_FILE: file }).blocklist });
    alice = await issueToken(server.url);
    roomId = (await createRoom(server.url, alice.token)).id;
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is BAD_USER_INPUT "message blocked" on every transport and stores nothing', async () => {
    await sendMessage(server.url, alice.token, roomId, 'before');
    for (const transport of ['http', 'ws', 'sse'] as const) {
      for (const [n, body] of ['oh DÁRN', 'Go, away!'].entries()) {
        const result = await firstResult(transport, server, SEND, { roomId, body, c: `c-${transport}-${n}` }, alice.token);
        expect(result.errors?.[0], `${transport}: ${body}`).toMatchObject({ message: 'message blocked', extensions: { code: 'BAD_USER_INPUT' } });
      }
    }
    await sendMessage(server.url, alice.token, roomId, 'darning socks, going far away');
    expect(await storedBodies(server.url, roomId)).toEqual(['before', 'darning socks, going far away']);
  });

  it('does not spend a slow-mode turn', async () => {
    const room = await createRoom(server.url, alice.token);
    await setSlowMode(server.url, room.id, 60);
    expect(errorCode(await trySend(server.url, alice.token, room.id, 'darn'))).toBe('BAD_USER_INPUT');
    await sendMessage(server.url, alice.token, room.id, 'clean');
    expect(await storedBodies(server.url, room.id)).toEqual(['clean']);
  });
});

describe('slow mode', () => {
  let server: TestServer;
  let alice: TestUser;
  let bob: TestUser;
  beforeAll(async () => {
    server = await startServer({ adminToken: ADMIN_TOKEN });
    [alice, bob] = await Promise.all([issueToken(server.url), issueToken(server.url)]);
  });
  afterAll(() => server?.stop());

  const slowModeOf = async (roomId: string): Promise<number> =>
    (await gqlOk(server.url, 'query($id: ID!) { room(id: $id) { slowModeSeconds } }', { id: roomId })).room.slowModeSeconds;

  it('checks its input: 0 to 3600 seconds, a room that exists', async () => {
    const room = await createRoom(server.url, alice.token);
    for (const seconds of [-1, 3601]) {
      const result = await gql(server.url, SET_SLOW_MODE, { roomId: room.id, seconds }, ADMIN_TOKEN);
      expect(errorCode(result)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message).toMatch(/0 \(off\) to 3600/);
    }
    for (const roomId of ['00000000-0000-7000-8000-00000000ffff', 'not-a-room', 'x\u0000y']) {
      expect(errorCode(await gql(server.url, SET_SLOW_MODE, { roomId, seconds: 5 }, ADMIN_TOKEN))).toBe('NOT_FOUND');
    }
    expect(await slowModeOf(room.id)).toBe(0);
    expect(await gqlOk(server.url, SET_SLOW_MODE, { roomId: room.id, seconds: 3600 }, ADMIN_TOKEN)).toEqual({ setSlowMode: { id: room.id, slowModeSeconds: 3600 } });
    expect(await slowModeOf(room.id)).toBe(3600);
  });

  it('lets each user send once per window; too early is RATE_LIMITED with retryAfterSeconds and stores nothing', async () => {
    const room = await createRoom(server.url, alice.token);
    await setSlowMode(server.url, room.id, 30);
    await sendMessage(server.url, alice.token, room.id, 'first');
    for (const transport of ['http', 'ws', 'sse'] as const) {
      const result = await firstResult(transport, server, SEND, { roomId: room.id, body: `again over ${transport}` }, alice.token);
      const error = result.errors?.[0];
      expect(error?.extensions?.code, transport).toBe('RATE_LIMITED');
      const retryAfter = error?.extensions?.retryAfterSeconds as number;
      expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `retryAfterSeconds ${retryAfter}`).toBe(true);
      expect(error?.message).toMatch(/one message every 30 s/);
    }
    // Another user has a turn of their own; another room is not slowed.
    await sendMessage(server.url, bob.token, room.id, 'bob');
    const other = await createRoom(server.url, alice.token);
    await sendMessage(server.url, alice.token, other.id, 'elsewhere');
    expect(await storedBodies(server.url, room.id)).toEqual(['first', 'bob']);
  });

  it('lets exactly one of many concurrent sends through', async () => {
    const room = await createRoom(server.url, alice.token);
    await setSlowMode(server.url, room.id, 30);
    const results = await Promise.all(Array.from({ length: 12 }, (_, n) => trySend(server.url, alice.token, room.id, `burst ${n}`)));
    expect(results.filter((r) => r.data?.sendMessage)).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === 'RATE_LIMITED')).toHaveLength(11);
    expect(await storedBodies(server.url, room.id)).toHaveLength(1);
  });

  it('answers a retry of a stored message with that message, not RATE_LIMITED', async () => {
    const room = await createRoom(server.url, alice.token);
    await setSlowMode(server.url, room.id, 30);
    const first = await trySend(server.url, alice.token, room.id, 'once', 'retry-1');
    const retry = await trySend(server.url, alice.token, room.id, 'once', 'retry-1');
    expect(retry.data?.sendMessage).toEqual(first.data?.sendMessage);
    expect(errorCode(await trySend(server.url, alice.token, room.id, 'new', 'retry-2'))).toBe('RATE_LIMITED');
    expect(await storedBodies(server.url, room.id)).toEqual(['once']);
  });

  it('opens the next turn when the window has passed, and at once when turned off or changed', async () => {
    const room = await createRoom(server.url, alice.token);
    await setSlowMode(server.url, room.id, 1);
    await sendMessage(server.url, alice.token, room.id, 'one');
    const refused = await trySend(server.url, alice.token, room.id, 'too soon');
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    await until(async () => (await trySend(server.url, alice.token, room.id, 'two')).data?.sendMessage != null, 3_000, 'the next turn');

    await setSlowMode(server.url, room.id, 600);
    await sendMessage(server.url, alice.token, room.id, 'three');
    expect(errorCode(await trySend(server.url, alice.token, room.id, 'refused'))).toBe('RATE_LIMITED');
    // Shortened: the old, longer wait is not left behind.
    await setSlowMode(server.url, room.id, 5);
    await sendMessage(server.url, alice.token, room.id, 'four');
    await setSlowMode(server.url, room.id, 0);
    await sendMessage(server.url, alice.token, room.id, 'five');
    await sendMessage(server.url, alice.token, room.id, 'six');
    expect(await storedBodies(server.url, room.id)).toEqual(['one', 'two', 'three', 'four', 'five', 'six']);
    expect(await slowModeOf(room.id)).toBe(0);
  });
});
