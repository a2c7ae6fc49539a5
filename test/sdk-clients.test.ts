// The README's imports:
import { ApolloClient, InMemoryCache } from '@apollo/client';
import { Client, cacheExchange } from '@urql/core';
import { createChatClient, MessageAddedDocument, RoomsDocument, SendMessageDocument } from 'chat-api/sdk';
import { ChatLink } from 'chat-api/sdk/apollo';
import { chatExchange } from 'chat-api/sdk/urql';
import { createClient } from 'graphql-ws';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { issueToken } from './helpers/chat.js';
import { allMessages } from './helpers/pages.js';
import { participantCountOf, sendMany } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';
import { until } from './helpers/wait.js';

// The README's Apollo Client and urql examples, run as written (its imports above, its code
// between the BEGIN/END marks), then the network cut under them: the SDK's link and exchange
// resume messageAdded after the last message delivered, with no app code for it.

// What a browser gives the examples: localStorage and WebSocket (Node 20 has neither).
const storage = new Map<string, string>();
Object.assign(globalThis, {
  localStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) },
  WebSocket: (globalThis as { WebSocket?: unknown }).WebSocket ?? WebSocket,
});

let server: TestServer;
let proxy: TcpProxy;
let url: string;
let wsUrl: string;
beforeAll(async () => {
  server = await startServer();
  proxy = await startTcpProxy(server.app.port);
  url = proxy.url;
  wsUrl = proxy.wsUrl;
});
afterAll(async () => {
  await proxy.close();
  await server.stop();
});
afterEach(() => storage.clear());

interface Shown {
  id: string;
  seq: number;
  body: string;
}

const LOBBY = '00000000-0000-7000-8000-000000000001';
const lobbyHistory = async () => (await allMessages(server.url, LOBBY)).map((m) => m.body);

describe('the README examples', () => {
  it('Apollo Client with ChatLink: typed documents, and messageAdded resumes across a network cut', async () => {
    const shown: Shown[] = [];
    const show = (message: Shown) => shown.push(message);
    const before = (await lobbyHistory()).length;

    // BEGIN README apollo
    const chat = createChatClient({ url, storage: localStorage });
    const apollo = new ApolloClient({ link: new ChatLink(chat), cache: new InMemoryCache() });

    const { data } = await apollo.query({ query: RoomsDocument, variables: { first: 20 } });
    const lobby = data!.rooms.edges.find((edge) => edge.node.title === 'lobby')!.node;

    // Live, and after every reconnect it goes on after the last message it delivered.
    apollo.subscribe({ query: MessageAddedDocument, variables: { roomId: lobby.id } }).subscribe(({ data }) => show(data!.messageAdded));
    await apollo.mutate({ mutation: SendMessageDocument, variables: { roomId: lobby.id, body: 'hi from Apollo' } });
    // END README apollo

    try {
      await until(() => shown.length === 1, 5_000, 'the message sent through Apollo');
      expect(shown[0]!.body).toBe('hi from Apollo');
      expect(JSON.parse(storage.get('chat-api.session')!).user.handle).toMatch(/#\d{4}$/);

      const sender = await issueToken(server.url);
      await sendMany(server.url, [sender], lobby.id, 10, { onSent: (_, n) => n === 4 && proxy.cut() });
      await until(() => shown.length === 11, 10_000, 'every message after the cut');
      const after = (await lobbyHistory()).slice(before);
      expect(shown.map((m) => m.body)).toEqual(after);
      expect(new Set(shown.map((m) => m.seq)).size).toBe(11);
    } finally {
      apollo.stop();
      await chat.close();
    }
  });

  it('urql with chatExchange: the same, through an exchange', async () => {
    const shown: Shown[] = [];
    const show = (message: Shown) => shown.push(message);
    const before = (await lobbyHistory()).length;

    // BEGIN README urql
    const chat = createChatClient({ url, storage: localStorage });
    const urql = new Client({ url, exchanges: [cacheExchange, chatExchange(chat)] });

    const { data } = await urql.query(RoomsDocument, { first: 20 }).toPromise();
    const lobby = data!.rooms.edges.find((edge) => edge.node.title === 'lobby')!.node;

    const { unsubscribe } = urql.subscription(MessageAddedDocument, { roomId: lobby.id }).subscribe(({ data }) => show(data!.messageAdded));
    await urql.mutation(SendMessageDocument, { roomId: lobby.id, body: 'hi from urql' }).toPromise();
    // END README urql

    try {
      await until(() => shown.length === 1, 5_000, 'the message sent through urql');
      expect(shown[0]!.body).toBe('hi from urql');
      const sender = await issueToken(server.url);
      await sendMany(server.url, [sender], lobby.id, 10, { onSent: (_, n) => n === 4 && proxy.cut() });
      await until(() => shown.length === 11, 10_000, 'every message after the cut');
      expect(shown.map((m) => m.body)).toEqual((await lobbyHistory()).slice(before));
      // A mutation's error comes back as urql's CombinedError, with the server's code.
      const refused = await urql.mutation(SendMessageDocument, { roomId: lobby.id, body: ' ' }).toPromise();
      expect(refused.error?.graphQLErrors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    } finally {
      unsubscribe();
      await chat.close();
    }
  });

  it('graphql-ws by hand: subscribing afresh on every connect, with the last message shown, resumes with no gap and no duplicate', async () => {
    const shown: Shown[] = [];
    const show = (message: Shown) => shown.push(message);
    const before = (await lobbyHistory()).length;
    const user = await issueToken(server.url);
    localStorage.setItem('token', user.token);
    const roomId = LOBBY;
    // The newest message of the history page the app showed before going live.
    const newest = (await allMessages(server.url, LOBBY)).at(-1) ?? null;

    // BEGIN README graphql-ws
    const client = createClient({
      url: wsUrl,
      connectionParams: () => ({ authorization: `Bearer ${localStorage.getItem('token')}` }),
      lazy: false, // connect now: subscriptions start on 'connected'
      retryAttempts: Infinity,
      shouldRetry: () => true,
    });

    // The last message shown: the newest of the history page, so even the first connect resumes.
    let lastId: string | null = newest?.id ?? null;
    let lastSeq = newest?.seq ?? 0;
    let unsubscribe = () => {};
    client.on('connected', () => {
      unsubscribe(); // graphql-ws would re-send the old subscribe, with its old `after`
      unsubscribe = client.subscribe<{ messageAdded: Shown }>(
        {
          query: 'subscription($r: ID!, $after: ID) { messageAdded(roomId: $r, after: $after) { id seq body } }',
          variables: { r: roomId, after: lastId },
        },
        {
          next: ({ data }) => {
            const message = data!.messageAdded;
            if (message.seq <= lastSeq) return;
            lastSeq = message.seq;
            lastId = message.id;
            show(message);
          },
          error: console.error,
          complete: () => {},
        },
      );
    });
    // END README graphql-ws

    try {
      const first = await issueToken(server.url);
      // The first subscription is live once the server counts this user in the lobby.
      await until(async () => (await participantCountOf(server.url, LOBBY)) >= 1, 5_000, 'the subscription to be live');
      await sendMany(server.url, [first], roomId, 12, { onSent: (_, n) => (n === 3 || n === 8) && proxy.cut() });
      await until(() => shown.length === 12, 15_000, 'every message across two cuts');
      expect(shown.map((m) => m.body)).toEqual((await lobbyHistory()).slice(before));
    } finally {
      unsubscribe();
      await client.dispose();
    }
  });
});
