import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createChatClient } from 'chat-api/sdk';
import { createRoom, issueToken, type TestUser } from './helpers/chat.js';
import { errorCode, gql, gqlOk } from './helpers/graphql.js';
import { allMessages } from './helpers/pages.js';
import { dialect, startServer, type TestServer } from './helpers/server.js';

// Another connection holds the database's write lock (a backup, a migration, an operator's
// session): sends wait a bounded time, then answer UNAVAILABLE with retryAfterSeconds, store
// nothing, and a retry with the same clientMessageId after the lock is gone is stored once.

const SEND = `mutation($input: SendMessageInput!) { sendMessage(input: $input) { id seq body } }`;

/** Takes the write lock from a connection of its own; release() lets go. */
async function holdWriteLock(server: TestServer): Promise<{ release(): Promise<void> }> {
  const database = server.config.database;
  if (database.dialect === 'sqlite') {
    const other = new SQLite(database.file);
    other.exec('BEGIN IMMEDIATE');
    return { release: async () => void (other.exec('ROLLBACK'), other.close()) };
  }
  const other = new pg.Client({ connectionString: database.url });
  await other.connect();
  await other.query('BEGIN');
  await other.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
  return { release: async () => void (await other.query('ROLLBACK'), await other.end()) };
}

describe(`a database locked by another connection (${dialect})`, () => {
  let server: TestServer;
  let alice: TestUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url);
    roomId = (await createRoom(server.url, alice.token)).id;
  });
  afterAll(() => server.stop());

  it('answers UNAVAILABLE within a bounded wait, stores nothing, and the retry is stored once', async () => {
    const lock = await holdWriteLock(server);
    let released = false;
    try {
      const startedAt = performance.now();
      const input = { roomId, body: 'while locked', clientMessageId: 'busy-1' };
      const refused = await gql(server.url, SEND, { input }, alice.token);
      const waitedMs = performance.now() - startedAt;
      expect(errorCode(refused)).toBe('UNAVAILABLE');
      expect(refused.errors![0]!.extensions!.retryAfterSeconds).toBe(1);
      expect(refused.errors![0]!.message).toMatch(/nothing was stored/);
      // The bound (SQLite 100 ms, PostgreSQL lock_timeout 2 s) with room for a busy machine, far below a hang.
      expect(waitedMs).toBeLessThan(8_000);

      // Reads of other tables go on meanwhile.
      expect((await gqlOk(server.url, '{ rooms(first: 1) { edges { node { id } } } }')).rooms.edges).toHaveLength(1);

      await lock.release();
      released = true;
      const stored = await gqlOk(server.url, SEND, { input }, alice.token);
      expect(stored.sendMessage.body).toBe('while locked');
      // Retried once more (the client did not see the answer): still one row.
      const again = await gqlOk(server.url, SEND, { input }, alice.token);
      expect(again.sendMessage.id).toBe(stored.sendMessage.id);
      expect((await allMessages(server.url, roomId)).map((m) => m.body)).toEqual(['while locked']);
    } finally {
      if (!released) await lock.release();
    }
  });

  it("the SDK's sendMessage rides out the lock: it retries UNAVAILABLE after retryAfterSeconds with the same clientMessageId", async () => {
    const chat = createChatClient({ url: server.url, webSocketImpl: WebSocket, transport: 'sse' });
    try {
      await chat.ready();
      const lock = await holdWriteLock(server);
      // Past the first attempt's wait on either dialect (SQLite 100 ms, PostgreSQL 2 s): the SDK has seen UNAVAILABLE.
      const releasing = new Promise<void>((resolve) => setTimeout(() => void lock.release().then(resolve), 2_500));
      const sent = await chat.sendMessage({ roomId, body: 'sent through the lock' });
      await releasing;
      expect(sent.body).toBe('sent through the lock');
      expect((await allMessages(server.url, roomId)).filter((m) => m.body === 'sent through the lock')).toHaveLength(1);
    } finally {
      await chat.close();
    }
  });

  it('fails every send of a batch that met the lock, each UNAVAILABLE, none half-written', async () => {
    const lock = await holdWriteLock(server);
    try {
      const answers = await Promise.all(
        Array.from({ length: 5 }, (_, n) => gql(server.url, SEND, { input: { roomId, body: `batch ${n}` } }, alice.token)),
      );
      expect(answers.map(errorCode)).toEqual(Array.from({ length: 5 }, () => 'UNAVAILABLE'));
    } finally {
      await lock.release();
    }
    expect((await allMessages(server.url, roomId)).filter((m) => m.body.startsWith('batch'))).toEqual([]);
  });
});
