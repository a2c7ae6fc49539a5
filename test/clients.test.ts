import { ApolloClient, HttpLink, InMemoryCache, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { Client as UrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  HistoryDocument,
  IssueTokenDocument,
  MessageAddedDocument,
  ParticipantCountDocument,
  RoomsDocument,
  SendMessageDocument,
} from '../sdk/generated/graphql.js';
import { startServer, type TestServer } from './helpers/server.js';
import { deferred, until, within } from './helpers/wait.js';

// The typed SDK (sdk/generated, from `npm run codegen`) with the two clients most apps use.

describe('with Apollo Client and urql', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.stop());

  it('Apollo Client gets a token, reads the lobby, and receives a message live over graphql-ws', async () => {
    let token = '';
    const ws = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: () => ({ authorization: `Bearer ${token}` }) });
    const link = split(
      ({ query }) => {
        const definition = getMainDefinition(query);
        return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
      },
      new GraphQLWsLink(ws),
      new HttpLink({ uri: server.url, fetch: (uri, init) => fetch(uri, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }) }),
    );
    const apollo = new ApolloClient({ link, cache: new InMemoryCache() });
    try {
      const issued = await apollo.mutate({ mutation: IssueTokenDocument, variables: { nickname: 'Apollo' } });
      token = issued.data!.issueToken.token;
      expect(issued.data!.issueToken.user.handle).toMatch(/^Apollo#\d{4}$/);

      const rooms = await apollo.query({ query: RoomsDocument, variables: { first: 10 } });
      const lobby = rooms.data!.rooms.edges.find((edge) => edge.node.title === 'lobby')!.node;

      const received = deferred<string>();
      const counted = deferred<number>();
      const subscription = apollo.subscribe({ query: MessageAddedDocument, variables: { roomId: lobby.id } }).subscribe({
        next: (result) => received.resolve(result.data!.messageAdded.body),
        error: received.reject,
      });
      const counter = apollo.subscribe({ query: ParticipantCountDocument, variables: { roomId: lobby.id } }).subscribe({
        next: (result) => {
          if (result.data!.participantCount.count === 1) counted.resolve(1);
        },
      });
      await within(counted.promise, 5_000, 'the participant count to show the Apollo user');
      await apollo.mutate({ mutation: SendMessageDocument, variables: { roomId: lobby.id, body: 'hello from Apollo', clientMessageId: 'apollo-1' } });
      expect(await within(received.promise, 5_000, 'the live message')).toBe('hello from Apollo');

      const history = await apollo.query({ query: HistoryDocument, variables: { roomId: lobby.id, last: 5 }, fetchPolicy: 'network-only' });
      expect(history.data!.messages.edges.at(-1)!.node.body).toBe('hello from Apollo');
      subscription.unsubscribe();
      counter.unsubscribe();
    } finally {
      apollo.stop();
      await ws.dispose();
    }
  });

  it('urql sends and receives with the same typed documents', async () => {
    let token = '';
    const ws = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: () => ({ token }) });
    const urql = new UrqlClient({
      url: server.url,
      fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    try {
      const issued = await urql.mutation(IssueTokenDocument, {}).toPromise();
      token = issued.data!.issueToken.token;
      const rooms = await urql.query(RoomsDocument, { first: 10 }).toPromise();
      const lobbyId = rooms.data!.rooms.edges.find((edge) => edge.node.title === 'lobby')!.node.id;

      const received = deferred<string>();
      const subscription = urql.subscription(MessageAddedDocument, { roomId: lobbyId }).subscribe((result) => {
        if (result.error) received.reject(result.error);
        else if (result.data) received.resolve(result.data.messageAdded.sender.handle);
      });
      // The subscription is live once the user counts as a participant.
      await until(
        async () => {
          const room = await urql.query(RoomsDocument, { first: 10 }, { requestPolicy: 'network-only' }).toPromise();
          return room.data!.rooms.edges.find((edge) => edge.node.id === lobbyId)!.node.participantCount === 1;
        },
        5_000,
        'the urql user to count as a participant',
      );
      const sent = await urql.mutation(SendMessageDocument, { roomId: lobbyId, body: 'hello from urql' }).toPromise();
      expect(sent.error).toBeUndefined();
      expect(await within(received.promise, 5_000, 'the live message')).toBe(issued.data!.issueToken.user.handle);
      subscription.unsubscribe();
    } finally {
      await ws.dispose();
    }
  });
});
