import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, lobbyId, type TestUser } from './helpers/chat.js';
import { gql, type GraphQLResponse } from './helpers/graphql.js';
import { allRooms } from './helpers/pages.js';
import { startServer, type TestServer } from './helpers/server.js';

/** The only codes a client ever has to handle (contract: extensions.code). */
const CODES = ['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'RATE_LIMITED', 'INTERNAL_SERVER_ERROR'];

function expectEveryErrorCoded(result: GraphQLResponse, what: string): void {
  expect(result.errors?.length, what).toBeGreaterThan(0);
  for (const error of result.errors!) expect(CODES, `${what}: ${JSON.stringify(error)}`).toContain(error.extensions?.code);
}

describe('errors', () => {
  let server: TestServer;
  let alice: TestUser;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url);
  });
  afterAll(() => server.stop());

  const stillServing = async () => expect(await lobbyId(server.url)).toBeTruthy();

  it('tells a client in plain words what is wrong with its operation, as BAD_USER_INPUT', async () => {
    const cases: { what: string; query: string; variables?: Record<string, unknown>; says: RegExp }[] = [
      { what: 'a syntax error', query: '{ rooms(', says: /Syntax Error/ },
      { what: 'an unknown field', query: '{ rooms { edges { node { nope } } } }', says: /"nope"/ },
      { what: 'an unknown argument', query: '{ rooms(sort: NEWEST) { edges { cursor } } }', says: /"sort"/ },
      { what: 'a missing required argument', query: '{ room { id } }', says: /argument "id".*required/ },
      { what: 'a variable of the wrong type', query: 'query($n: Int) { rooms(first: $n) { edges { cursor } } }', variables: { n: 'ten' }, says: /\$n.*"ten"/ },
      { what: 'a missing required variable', query: 'query($id: ID!) { room(id: $id) { id } }', says: /\$id/ },
      { what: 'an undeclared variable', query: '{ rooms(first: $n) { edges { cursor } } }', says: /\$n/ },
      { what: 'an unknown input field', query: 'mutation { createRoom(input: { title: "x", owner: "me" }) { id } }', says: /"owner"/ },
    ];
    for (const { what, query, variables, says } of cases) {
      const result = await gql(server.url, query, variables, alice.token);
      expectEveryErrorCoded(result, what);
      expect(result.errors!.map((e) => e.extensions?.code), what).toEqual(result.errors!.map(() => 'BAD_USER_INPUT'));
      expect(result.errors![0]!.message, what).toMatch(says);
      expect(result.data ?? null, what).toBeNull();
      await stillServing();
    }
  });

  it('codes every error of a response, also when several fail or others succeed', async () => {
    const twoUnknown = await gql(server.url, '{ nope nada }');
    expect(twoUnknown.errors).toHaveLength(2);
    expectEveryErrorCoded(twoUnknown, 'two unknown fields');

    const lobby = await lobbyId(server.url);
    const partly = await gql(server.url, 'query($id: ID!) { me { id } room(id: $id) { messages(last: 0) { edges { cursor } } } }', { id: lobby }, alice.token);
    expect(partly.data?.me?.id).toBe(alice.user.id);
    expectEveryErrorCoded(partly, 'one failing field next to a good one');
    expect(partly.errors![0]!.path).toEqual(['room', 'messages']);
  });

  it('uses the same codes for refusals from every part of the API', async () => {
    const lobby = await lobbyId(server.url);
    const refusals: [string, Promise<GraphQLResponse>][] = [
      ['no token', gql(server.url, 'mutation { createRoom(input: { title: "x" }) { id } }')],
      ['bad title', gql(server.url, 'mutation { createRoom(input: { title: "" }) { id } }', {}, alice.token)],
      ['bad nickname', gql(server.url, 'mutation { issueToken(nickname: "#") { token } }')],
      ['unknown room', gql(server.url, 'query($id: ID!) { messages(roomId: $id) { edges { cursor } } }', { id: randomUUID() })],
      ['bad cursor', gql(server.url, '{ rooms(after: "nope") { edges { cursor } } }')],
      ['bad body', gql(server.url, 'mutation($id: ID!) { sendMessage(input: { roomId: $id, body: " " }) { id } }', { id: lobby }, alice.token)],
    ];
    for (const [what, result] of refusals) expectEveryErrorCoded(await result, what);
  });

  it('answers malformed requests with a 4xx and a coded error, and keeps serving', async () => {
    const bodies = ['{"query": ', 'not json', '42', 'null', '[]', '{}', '{"query": 42}', '{"query": "{ me { id } }", "variables": "x"}'];
    for (const body of bodies) {
      const response = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
        body,
      });
      expect(response.status, body).toBeGreaterThanOrEqual(400);
      expect(response.status, body).toBeLessThan(500);
      expectEveryErrorCoded((await response.json()) as GraphQLResponse, body);
      await stillServing();
    }
  });

  it('refuses a mutation sent with GET, and creates nothing', async () => {
    const before = await allRooms(server.url);
    const query = encodeURIComponent('mutation { createRoom(input: { title: "from a link" }) { id } }');
    const response = await fetch(`${server.url}?query=${query}`, { headers: { accept: 'application/json', authorization: `Bearer ${alice.token}` } });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(response.status).toBeLessThan(500);
    expectEveryErrorCoded((await response.json()) as GraphQLResponse, 'GET mutation');
    expect(await allRooms(server.url)).toEqual(before);
  });
});
