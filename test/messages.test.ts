import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoom, issueToken, sendMessage, type TestUser } from './helpers/chat.js';
import { errorCode, gql } from './helpers/graphql.js';
import { allMessages } from './helpers/pages.js';
import { startServer, TEST_SECRET, type TestServer } from './helpers/server.js';

const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id seq body } }';

describe('sending a message', () => {
  let server: TestServer;
  let alice: TestUser;
  let room: { id: string };
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    room = await createRoom(server.url, alice.token, 'general');
  });
  afterAll(() => server.stop());

  const send = (body: string, extra: Record<string, unknown> = {}, token: string | null = alice.token) =>
    gql(server.url, SEND, { input: { roomId: room.id, body, ...extra } }, token);

  it('stores it in the room, numbered from 1, sent by the holder of the token', async () => {
    const fresh = await createRoom(server.url, alice.token);
    const first = await sendMessage(server.url, alice.token, fresh.id, 'hello');
    const second = await sendMessage(server.url, alice.token, fresh.id, 'anyone here?');
    expect(first).toMatchObject({ seq: 1, body: 'hello', roomId: fresh.id, clientMessageId: null, sender: { id: alice.user.id, handle: alice.user.handle } });
    expect(second.seq).toBe(2);
    expect(await allMessages(server.url, fresh.id)).toEqual([
      { id: first.id, seq: 1, body: 'hello', clientMessageId: null, sender: first.sender },
      { id: second.id, seq: 2, body: 'anyone here?', clientMessageId: null, sender: second.sender },
    ]);
  });

  it('offers no way to send in someone else’s name', async () => {
    const before = await allMessages(server.url, room.id);
    const bob = await issueToken(server.url, { nickname: 'Bob' });
    for (const claim of [{ senderId: bob.user.id }, { sender: bob.user.id }]) {
      expect(errorCode(await send('it was Bob', claim))).toBe('BAD_USER_INPUT');
    }
    expect(await allMessages(server.url, room.id)).toEqual(before);
  });

  it('trims the body but keeps newlines and tabs inside it', async () => {
    expect((await sendMessage(server.url, alice.token, room.id, '  \n hi there \t ')).body).toBe('hi there');
    const poem = 'roses are red\n\tviolets are blue';
    expect((await sendMessage(server.url, alice.token, room.id, poem)).body).toBe(poem);
  });

  it('accepts a body of 2000 characters, counted after trimming', async () => {
    for (const body of ['a'.repeat(2000), ` ${'b'.repeat(2000)}\n`]) {
      expect((await sendMessage(server.url, alice.token, room.id, body)).body).toBe(body.trim());
    }
  });

  it('refuses bodies it cannot show, and stores nothing', async () => {
    const before = await allMessages(server.url, room.id);
    for (const body of ['', '   ', '\n\t ', 'a'.repeat(2001), 'nul\u0000', 'bell\u0007', 'esc\u001b[2J', 'del\u007f']) {
      expect(errorCode(await send(body)), JSON.stringify(body)).toBe('BAD_USER_INPUT');
    }
    expect(await allMessages(server.url, room.id)).toEqual(before);
  });

  it('refuses malformed clientMessageIds, and stores nothing', async () => {
    const before = await allMessages(server.url, room.id);
    for (const clientMessageId of ['', 'x'.repeat(65), 'has space', 'tab\tinside']) {
      expect(errorCode(await send('hello', { clientMessageId })), JSON.stringify(clientMessageId)).toBe('BAD_USER_INPUT');
    }
    expect(await allMessages(server.url, room.id)).toEqual(before);
    expect((await sendMessage(server.url, alice.token, room.id, 'hello', 'x'.repeat(64))).clientMessageId).toBe('x'.repeat(64));
  });

  it('answers NOT_FOUND for a room that does not exist', async () => {
    for (const roomId of [randomUUID(), 'garbage', 'nul\u0000byte']) {
      const result = await gql(server.url, SEND, { input: { roomId, body: 'hello?' } }, alice.token);
      expect(errorCode(result), JSON.stringify(roomId)).toBe('NOT_FOUND');
    }
  });

  it('does not let a send to a malformed room disturb other people’s sends', async () => {
    const fresh = await createRoom(server.url, alice.token);
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => gql(server.url, SEND, { input: { roomId: fresh.id, body: `ok ${i}` } }, alice.token)),
      gql(server.url, SEND, { input: { roomId: 'nul\u0000byte', body: 'boom' } }, alice.token),
      ...Array.from({ length: 10 }, (_, i) => gql(server.url, SEND, { input: { roomId: fresh.id, body: `ok ${i + 10}` } }, alice.token)),
    ]);
    expect(results.map(errorCode)).toEqual([...Array<undefined>(10).fill(undefined), 'NOT_FOUND', ...Array<undefined>(10).fill(undefined)]);
    expect(await allMessages(server.url, fresh.id)).toHaveLength(20);
  });

  it('refuses senders without a valid token, and stores nothing', async () => {
    const before = await allMessages(server.url, room.id);
    const claims = { nickname: alice.user.nickname, tag: alice.user.tag };
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    const tokens: Record<string, string | null> = {
      missing: null,
      garbage: 'garbage',
      forged: jwt.sign({ ...claims, exp: inAnHour }, 'another-secret-another-secret-another-secret', { subject: alice.user.id }),
      expired: jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET, { subject: alice.user.id }),
      'alg none': jwt.sign({ ...claims, exp: inAnHour }, '', { subject: alice.user.id, algorithm: 'none' }),
      'without exp': jwt.sign(claims, TEST_SECRET, { subject: alice.user.id }),
      'for a user this server never made': jwt.sign({ ...claims, exp: inAnHour }, TEST_SECRET, { subject: randomUUID() }),
    };
    for (const [kind, token] of Object.entries(tokens)) {
      const result = await send(`sent with a ${kind} token`, {}, token);
      expect(errorCode(result), kind).toBe('UNAUTHENTICATED');
    }
    // The reason is worth telling: a client refreshes an expired token but not a missing one.
    expect((await send('late', {}, tokens.expired!)).errors?.[0]?.message).toMatch(/expired/);
    expect((await send('anonymous', {}, null)).errors?.[0]?.message).toMatch(/missing/);
    expect(await allMessages(server.url, room.id)).toEqual(before);
  });
});

describe('retrying a send with the same clientMessageId', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
  });
  afterAll(() => server.stop());

  it('returns the first message and stores it once', async () => {
    const room = await createRoom(server.url, alice.token);
    const first = await sendMessage(server.url, alice.token, room.id, 'on my way', 'c-1');
    const retry = await sendMessage(server.url, alice.token, room.id, 'on my way (edited)', 'c-1');
    expect(retry).toEqual(first);
    expect((await allMessages(server.url, room.id)).map((m) => m.id)).toEqual([first.id]);
    // The retry used up no number: the next message follows without a gap.
    expect((await sendMessage(server.url, alice.token, room.id, 'here')).seq).toBe(2);
  });

  it('stores one message when ten retries race each other', async () => {
    const room = await createRoom(server.url, alice.token);
    const sent = await Promise.all(Array.from({ length: 10 }, () => sendMessage(server.url, alice.token, room.id, 'flaky network', 'c-race')));
    expect(new Set(sent.map((m) => m.id)).size).toBe(1);
    expect(sent[0]!.seq).toBe(1);
    expect((await allMessages(server.url, room.id)).map((m) => m.id)).toEqual([sent[0]!.id]);
    expect((await sendMessage(server.url, alice.token, room.id, 'made it')).seq).toBe(2);
  });

  it('is a different message from another user or in another room', async () => {
    const bob = await issueToken(server.url, { nickname: 'Bob' });
    const [kitchen, garden] = [await createRoom(server.url, alice.token), await createRoom(server.url, alice.token)];
    const mine = await sendMessage(server.url, alice.token, kitchen.id, 'hi', 'same-id');
    const bobs = await sendMessage(server.url, bob.token, kitchen.id, 'hi', 'same-id');
    const elsewhere = await sendMessage(server.url, alice.token, garden.id, 'hi', 'same-id');
    expect(bobs.id).not.toBe(mine.id);
    expect(bobs.sender.id).toBe(bob.user.id);
    expect(elsewhere.id).not.toBe(mine.id);
    expect((await allMessages(server.url, kitchen.id)).map((m) => m.id)).toEqual([mine.id, bobs.id]);
    expect((await allMessages(server.url, garden.id)).map((m) => m.id)).toEqual([elsewhere.id]);
  });
});

describe('many people talking at once', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('numbers 8 users × 25 concurrent messages 1 to 200 with no gap, in history order', async () => {
    const users = await Promise.all(Array.from({ length: 8 }, (_, i) => issueToken(server.url, { nickname: `Talker ${i}` })));
    const room = await createRoom(server.url, users[0]!.token);
    const sent = await Promise.all(users.flatMap((user, u) => Array.from({ length: 25 }, (_, i) => sendMessage(server.url, user.token, room.id, `user ${u} says ${i}`))));

    const seqs = sent.map((m) => m.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));

    const history = await allMessages(server.url, room.id);
    expect(history.map((m) => m.seq)).toEqual(seqs);
    const bySeq = new Map(sent.map((m) => [m.seq, m]));
    for (const stored of history) {
      const answered = bySeq.get(stored.seq)!;
      expect({ id: stored.id, body: stored.body, sender: stored.sender.id }).toEqual({ id: answered.id, body: answered.body, sender: answered.sender.id });
    }
  });
});
