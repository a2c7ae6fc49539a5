import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken, lobbyId, type TestUser } from './helpers/chat.js';
import { gql, gqlOk, type GraphQLResponse } from './helpers/graphql.js';
import { rawConnection } from './helpers/realtime.js';
import { dialect, startServer, type TestServer } from './helpers/server.js';
import { firstResult, type Transport } from './helpers/transports.js';
import { within } from './helpers/wait.js';

// JSON's "\uD800" escape puts a lone surrogate in a JavaScript string, as any client's JSON.stringify sends it.
const LONE_HIGH = 'a\uD800b';
const LONE_LOW = '\uDC00ab';
const TRAILING_HIGH = 'ab\uD83D';
const EMOJI = '\u{1F600}'; // one code point, two UTF-16 units
const ASTRAL_LETTER = '\u{1D49C}'; // MATHEMATICAL SCRIPT CAPITAL A, a letter outside the BMP

function expectBadInput(result: GraphQLResponse, message: RegExp): void {
  expect(result.errors?.length).toBe(1);
  expect(result.errors![0]).toMatchObject({ message: expect.stringMatching(message), extensions: { code: 'BAD_USER_INPUT' } });
  expect(result.data ?? null).toBeNull();
}

const SEND = 'mutation($input: SendMessageInput!) { sendMessage(input: $input) { id body } }';

describe(`one input policy (${dialect})`, () => {
  let server: TestServer;
  let alice: TestUser;
  let lobby: string;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    lobby = await lobbyId(server.url);
  });
  afterAll(() => server?.stop());

  const bodies = async () =>
    (await gqlOk<{ messages: { edges: { node: { body: string } }[] } }>(server.url, 'query($r: ID!) { messages(roomId: $r, last: 100) { edges { node { body } } } }', { r: lobby })).messages.edges.map((e) => e.node.body);

  for (const transport of ['http', 'ws', 'sse'] as Transport[]) {
    it(`refuses a message body with an unpaired surrogate and stores nothing (${transport})`, async () => {
      const before = await bodies();
      for (const body of [LONE_HIGH, LONE_LOW, TRAILING_HIGH]) {
        const result = await firstResult(transport, server, SEND, { input: { roomId: lobby, body } }, alice.token);
        expectBadInput(result, /^variable "\$input\.body" contains an unpaired surrogate: strings must be well-formed Unicode$/);
      }
      expect(await bodies()).toEqual(before);
    });
  }

  it('refuses unpaired surrogates in every string argument: titles, nicknames, topics, reasons, ids', async () => {
    const rooms = async () => (await gqlOk(server.url, '{ rooms(first: 100) { edges { node { title } } } }')).rooms.edges.length;
    const roomsBefore = await rooms();
    expectBadInput(await gql(server.url, 'mutation($t: String!) { createRoom(input: { title: $t }) { id } }', { t: `room ${LONE_HIGH}` }, alice.token), /^variable "\$t" contains an unpaired surrogate/);
    expect(await rooms()).toBe(roomsBefore);
    expectBadInput(await gql(server.url, 'mutation($n: String) { issueToken(nickname: $n) { token } }', { n: `Al${LONE_LOW}` }), /^variable "\$n" contains an unpaired surrogate/);
    expectBadInput(await gql(server.url, 'query($id: ID!) { room(id: $id) { id } }', { id: LONE_HIGH }), /^variable "\$id" contains an unpaired surrogate/);
    expectBadInput(await gql(server.url, 'mutation($m: ID!, $r: String) { reportMessage(messageId: $m, reason: $r) }', { m: lobby, r: TRAILING_HIGH }, alice.token), /^variable "\$r" contains an unpaired surrogate/);
    // A subscription is refused before it starts (and before it queues anyone), over SSE and graphql-ws.
    for (const transport of ['sse', 'ws'] as Transport[]) {
      const result = await firstResult(transport, server, 'subscription($t: String) { matchFound(topic: $t) { room { id } } }', { t: `music${LONE_HIGH}` }, alice.token);
      expectBadInput(result, /^variable "\$t" contains an unpaired surrogate/);
    }
  });

  it('refuses a lone surrogate written in the document itself (the parser does), as BAD_USER_INPUT', async () => {
    for (const literal of ['"a\\uD800b"', `"${LONE_HIGH}"`, `"""${LONE_LOW}"""`]) {
      const result = await gql(server.url, `mutation { sendMessage(input: { roomId: "${lobby}", body: ${literal} }) { id } }`, {}, alice.token);
      expectBadInput(result, /^Syntax Error: Invalid (Unicode escape sequence|character within String)/);
    }
  });

  it('counts lengths in code points, stores them as sent, and reads them back the same on this dialect', async () => {
    const longest = EMOJI.repeat(2000); // 2,000 code points, 4,000 UTF-16 units
    const sent = await gqlOk(server.url, SEND, { input: { roomId: lobby, body: longest } }, alice.token);
    expect(sent.sendMessage.body).toBe(longest);
    expect((await bodies()).at(-1)).toBe(longest);
    expectBadInput(await gql(server.url, SEND, { input: { roomId: lobby, body: EMOJI.repeat(2001) } }, alice.token), /^body must be at most 2000 characters$/);
    // Mixed: paired surrogates among plain text are fine.
    const mixed = `hi ${EMOJI} there ${ASTRAL_LETTER}`;
    expect((await gqlOk(server.url, SEND, { input: { roomId: lobby, body: mixed } }, alice.token)).sendMessage.body).toBe(mixed);

    const title = EMOJI.repeat(64);
    expect((await gqlOk(server.url, 'mutation($t: String!) { createRoom(input: { title: $t }) { title } }', { t: title }, alice.token)).createRoom.title).toBe(title);
    expectBadInput(await gql(server.url, 'mutation($t: String!) { createRoom(input: { title: $t }) { id } }', { t: EMOJI.repeat(65) }, alice.token), /^title must be 1 to 64 characters/);

    const nickname = ASTRAL_LETTER.repeat(24);
    expect((await gqlOk(server.url, 'mutation($n: String) { issueToken(nickname: $n) { user { nickname } } }', { n: nickname })).issueToken.user.nickname).toBe(nickname);
    expectBadInput(await gql(server.url, 'mutation($n: String) { issueToken(nickname: $n) { token } }', { n: ASTRAL_LETTER.repeat(25) }), /^nickname must be 2 to 24 characters$/);
  });

  it('refuses variables nested deeper than 20 levels, however they arrive (here a GET query string)', async () => {
    const url = new URL(server.url);
    url.searchParams.set('query', 'query($v: String) { rooms(after: $v) { pageInfo { hasNextPage } } }');
    url.searchParams.set('variables', JSON.stringify({ v: JSON.parse('['.repeat(30) + ']'.repeat(30)) }));
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    expectBadInput((await response.json()) as GraphQLResponse, /^variable "\$v(\[0\]){19}" nests deeper than 20 levels$/);
  });

  it('closes a socket that sends a binary frame with 4400 and a reason, and serves others', async () => {
    const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    raw.socket.send(Buffer.from(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } })), { binary: true });
    expect(await within(raw.closed, 5_000, 'the close')).toEqual({ code: 4400, reason: 'binary frames are not accepted: graphql-transport-ws messages are text' });
    expect(await firstResult('ws', server, '{ __typename }', {}, alice.token)).toEqual({ data: { __typename: 'Query' } });
  });
});
