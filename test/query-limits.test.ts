import { getIntrospectionQuery, isObjectType, print, type DocumentNode, type GraphQLObjectType } from 'graphql';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as generated from '../sdk/generated/graphql.js';
import { loadConfig } from '../src/config.js';
import { buildSchema } from '../src/schema/index.js';
import { createErrorPolicy } from '../src/transports/error-policy.js';
import { DEFAULT_QUERY_LIMITS, type QueryLimitsConfig } from '../src/transports/limits/limits-config.js';
import { PAGE_SIZE_MAX } from '../src/transports/limits/operation-rules.js';
import { createGraphQLPipeline } from '../src/transports/pipeline.js';
import { issueToken, lobbyId, type TestUser } from './helpers/chat.js';
import { gql, gqlOk, type GraphQLResponse } from './helpers/graphql.js';
import { rawConnection } from './helpers/realtime.js';
import { startServer, type TestServer } from './helpers/server.js';
import { firstResult, TRANSPORTS, type Transport } from './helpers/transports.js';
import { within } from './helpers/wait.js';

const HISTORY_PAGE = 'edges { cursor node { id seq body createdAt sender { id handle } } } pageInfo { hasPreviousPage startCursor }';
const aliases = (count: number, field: (i: number) => string) => Array.from({ length: count }, (_, i) => `a${i}: ${field(i)}`).join('\n');

/** The one error of a refused operation: BAD_USER_INPUT, its message naming the limit, and no data. */
function expectRefused(result: GraphQLResponse, message: RegExp): void {
  expect(result.errors?.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  for (const error of result.errors ?? []) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
  expect(result.data ?? null).toBeNull();
}

async function historyCount(url: string, roomId: string): Promise<number> {
  const data = await gqlOk<{ messages: { edges: unknown[] } }>(url, 'query($r: ID!) { messages(roomId: $r, last: 100) { edges { cursor } } }', { r: roomId });
  return data.messages.edges.length;
}

describe('query limits, on every transport', () => {
  let server: TestServer;
  let alice: TestUser;
  let lobby: string;
  beforeAll(async () => {
    server = await startServer();
    alice = await issueToken(server.url, { nickname: 'Alice' });
    lobby = await lobbyId(server.url);
  });
  afterAll(() => server?.stop());

  const over = (transport: Transport, query: string, variables: Record<string, unknown> = {}) => firstResult(transport, server, query, variables, alice.token);

  for (const transport of TRANSPORTS) {
    describe(`over ${transport}`, () => {
      it('refuses 16 aliases of a history page (the alias limit, before any resolver)', async () => {
        const query = `query($r: ID!) { ${aliases(16, () => `messages(roomId: $r, last: 100) { ${HISTORY_PAGE} }`)} }`;
        expectRefused(await over(transport, query, { r: lobby }), /^Aliases limit of 15 exceeded, found 16\.$/);
      });

      it('refuses a document of 3,000 nested fragments, a 3,000-deep selection and list literal: the token limit, not a 500', async () => {
        const fragments = `{ ${'... on Query { '.repeat(3000)}__typename${' }'.repeat(3000)} }`;
        const selection = `{ ${'rooms { '.repeat(3000)}id${' }'.repeat(3000)} }`;
        const list = `{ rooms(after: ${'['.repeat(3000)}${']'.repeat(3000)}) { pageInfo { hasNextPage } } }`;
        for (const query of [fragments, selection, list]) {
          expectRefused(await over(transport, query), /^Syntax Error: Token limit of 1000 exceeded\.$/);
        }
      });

      it('refuses nesting past the depth limit', async () => {
        const query = `{ ${'... on Query { '.repeat(3)}rooms(first: 2) { edges { node { messages(last: 2) { edges { node { sender { handle${' }'.repeat(10)} }`;
        // 8 levels of fields is the deepest the schema has: that passes.
        expect((await over(transport, query)).errors).toBeUndefined();
        const deeper = `{ rooms(first: 2) { edges { node { messages(last: 2) { edges { node { sender { id { a { b { c${' }'.repeat(10)} }`;
        const result = await over(transport, deeper);
        expect(result.errors?.map((e) => e.message)).toContain('Query depth limit of 10 exceeded, found 11.');
        for (const error of result.errors ?? []) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
      });

      it('refuses more than 20 directives', async () => {
        const query = `{ rooms(first: 1) { pageInfo { ${Array.from({ length: 21 }, () => 'hasNextPage @include(if: true)').join(' ')} } } }`;
        expectRefused(await over(transport, query), /^Directives limit of 20 exceeded, found 21\.$/);
      });

      it('multiplies page sizes into the cost, whether they are literals, variables or left out', async () => {
        const nested = (size: string) => `rooms(first: ${size}) { edges { node { title messages(last: ${size}) { ${HISTORY_PAGE} } } } }`;
        expectRefused(await over(transport, `{ ${nested('100')} }`), /^Query cost limit of 5000 exceeded, found \d+\.$/);
        expectRefused(await over(transport, `query($n: Int) { ${nested('$n')} }`, { n: 100 }), /^Query cost limit of 5000 exceeded/);
        expectRefused(await over(transport, '{ rooms { edges { node { messages { edges { node { id body sender { handle } } } } } } } }'), /^Query cost limit of 5000 exceeded/);
        // Small literal pages cost little: 5 rooms × 20 messages passes.
        expect((await over(transport, `{ ${nested('5').replace('last: 5', 'last: 20')} }`)).errors).toBeUndefined();
      });
    });
  }

  for (const transport of ['http', 'sse'] as const) {
    it(`refuses 1,000 aliases of a history page, 150 KB: the token limit stops it first (${transport})`, async () => {
      const query = `query($r: ID!) { ${aliases(1000, () => `messages(roomId: $r, last: 100) { ${HISTORY_PAGE} }`)} }`;
      expectRefused(await over(transport, query, { r: lobby }), /^Syntax Error: Token limit of 1000 exceeded\.$/);
    });
  }

  it('closes a socket that sends 1,000 aliases of a history page: over 64 KiB, the frame limit (1009)', async () => {
    const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    const query = `query($r: ID!) { ${aliases(1000, () => `messages(roomId: $r, last: 100) { ${HISTORY_PAGE} }`)} }`;
    raw.send({ id: '1', type: 'subscribe', payload: { query, variables: { r: lobby } } });
    expect((await within(raw.closed, 5_000, 'the close')).code).toBe(1009);
  });

  for (const transport of ['http', 'ws'] as const) {
    it(`refuses 1,000 sendMessage aliases in one mutation and stores nothing (${transport})`, async () => {
      const before = await historyCount(server.url, lobby);
      // 1,000 of them are refused by the token limit (and over WebSocket by the frame limit) before the alias limit counts.
      const mutation = `mutation($r: ID!) { ${aliases(1000, () => 'sendMessage(input: { roomId: $r, body: "spam" }) { id }')} }`;
      if (transport === 'http') expectRefused(await over(transport, mutation, { r: lobby }), /^Syntax Error: Token limit of 1000 exceeded\.$/);
      const sixteen = `mutation($r: ID!) { ${aliases(16, (i) => `sendMessage(input: { roomId: $r, body: "spam ${i}" }) { id }`)} }`;
      expectRefused(await over(transport, sixteen, { r: lobby }), /^Aliases limit of 15 exceeded, found 16\.$/);
      // Under the alias limit, the writes per mutation are bounded too.
      const six = `mutation($r: ID!) { ${aliases(6, (i) => `sendMessage(input: { roomId: $r, body: "six ${i}" }) { id }`)} }`;
      expectRefused(await over(transport, six, { r: lobby }), /^Mutation fields limit of 5 exceeded, found 6\.$/);
      expect(await historyCount(server.url, lobby)).toBe(before);
      // The server goes on serving, and a normal send passes.
      const sent = await over(transport, 'mutation($r: ID!) { sendMessage(input: { roomId: $r, body: "hello" }) { body } }', { r: lobby });
      expect(sent).toEqual({ data: { sendMessage: { body: 'hello' } } });
    });
  }

  it('counts variables and defaults at every paged field\'s real maximum: each refuses more than PAGE_SIZE_MAX', async () => {
    const schema = buildSchema();
    const paged = Object.values(schema.getTypeMap())
      .filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'))
      .flatMap((type) => Object.values(type.getFields()).filter((field) => field.args.some((arg) => arg.name === 'first' || arg.name === 'last')).map((field) => `${type.name}.${field.name}`))
      .sort();
    const over = PAGE_SIZE_MAX + 1;
    const queries: Record<string, string> = {
      'Query.directRooms': `{ directRooms(first: ${over}) { edges { cursor } } }`,
      'Query.messages': `{ messages(roomId: "${lobby}", last: ${over}) { edges { cursor } } }`,
      'Query.rooms': `{ rooms(first: ${over}) { edges { cursor } } }`,
      'Room.messages': `{ room(id: "${lobby}") { messages(last: ${over}) { edges { cursor } } } }`,
      'Room.participants': `{ room(id: "${lobby}") { participants(first: ${over}) { id } } }`,
    };
    expect(paged).toEqual(Object.keys(queries).sort());
    for (const query of Object.values(queries)) {
      const result = await gql(server.url, query, {}, alice.token);
      expect(result.errors?.[0]).toMatchObject({ message: expect.stringMatching(new RegExp(`must be at most ${PAGE_SIZE_MAX}|1 to ${PAGE_SIZE_MAX}|between`)), extensions: { code: 'BAD_USER_INPUT' } });
    }
  });

  it('refuses a batch (a JSON array body) with 400, one operation per request', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as GraphQLResponse;
    expect(body.errors).toEqual([expect.objectContaining({ message: 'Batching is not supported.', extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]);
  });

  it('answers 413 to an HTTP body over 1 MB, with or without a Content-Length, and serves on', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { v: 'x'.repeat(1_000_001) } });
    const declared = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as GraphQLResponse).errors?.[0]).toMatchObject({ message: 'Request body too large', extensions: { code: 'BAD_USER_INPUT' } });
    // Chunked: no Content-Length, so the limit counts bytes as they arrive.
    const bytes = new TextEncoder().encode(big);
    const chunked = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < bytes.length; at += 64 * 1024) controller.enqueue(bytes.slice(at, at + 64 * 1024));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    // A chunked body within the limit is read whole, however it is split.
    const small = new TextEncoder().encode(JSON.stringify({ query: '{ __typename }' }));
    const chunkedOk = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          for (let at = 0; at < small.length; at += 5) controller.enqueue(small.slice(at, at + 5));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(await chunkedOk.json()).toEqual({ data: { __typename: 'Query' } });
    // Just under the limit is an ordinary request.
    const fits = JSON.stringify({ query: '{ __typename }', variables: { v: 'x'.repeat(900_000) } });
    const ok = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: fits });
    expect(await ok.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers a body that is not a JSON object with 400 and says why; a form body with a query still runs', async () => {
    const post = (body: string, type = 'application/json') => fetch(server.url, { method: 'POST', headers: { 'content-type': type }, body });
    const broken = await post('{"query": "{ __typename }"');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as GraphQLResponse).errors?.[0]?.message).toBe('POST body sent invalid JSON.');
    const scalar = await post('42');
    expect(scalar.status).toBe(400);
    expect(((await scalar.json()) as GraphQLResponse).errors?.[0]?.message).toBe('POST body is expected to be object but received number');
    const form = await post(new URLSearchParams({ query: '{ __typename }' }).toString(), 'application/x-www-form-urlencoded');
    expect(await form.json()).toEqual({ data: { __typename: 'Query' } });
  });

  it('refuses deeply nested JSON in an HTTP body before parsing it (400, BAD_USER_INPUT), in a few milliseconds', async () => {
    const body = `{"query":"query($v: String) { __typename }","variables":{"v":${'['.repeat(450_000)}${']'.repeat(450_000)}}}`;
    const started = performance.now();
    const response = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const elapsed = performance.now() - started;
    expect(response.status).toBe(400);
    expect(((await response.json()) as GraphQLResponse).errors?.[0]).toMatchObject({ message: 'request JSON nests deeper than 20 levels', extensions: { code: 'BAD_USER_INPUT' } });
    // JSON.parse of it takes 100–300 ms; the scan that refuses it, a few. Loose: the machine is shared.
    expect(elapsed).toBeLessThan(1_000);
    // The same in a form-encoded body.
    const form = new URLSearchParams({ query: 'query($v: String) { __typename }', variables: `{"v":${'['.repeat(100)}${']'.repeat(100)}}` });
    const formResponse = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    expect(formResponse.status).toBe(400);
  });

  it('closes a socket that sends 10 MB of variables with 1009 (the frame limit), and serves others', async () => {
    const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    raw.send({ id: '1', type: 'subscribe', payload: { query: 'query($v: String) { __typename }', variables: { v: 'x'.repeat(10 * 1024 * 1024) } } });
    expect((await within(raw.closed, 5_000, 'the close')).code).toBe(1009);
    expect(await firstResult('ws', server, '{ __typename }', {}, alice.token)).toEqual({ data: { __typename: 'Query' } });
  });

  it('closes a socket whose frame nests deeper than 20 levels with 4400, before parsing it', async () => {
    const raw = await rawConnection(server.wsUrl, { authorization: `Bearer ${alice.token}` });
    raw.socket.send(`{"id":"1","type":"subscribe","payload":{"query":"query($v: String) { __typename }","variables":{"v":${'['.repeat(30_000)}${']'.repeat(30_000)}}}}`);
    expect(await within(raw.closed, 5_000, 'the close')).toEqual({ code: 4400, reason: 'message nests deeper than 20 levels' });
  });

  it('lets everyday use through: a history page of 100, the rooms list, GraphiQL introspection outside production', async () => {
    const history = await gql(server.url, `query($r: ID!, $last: Int) { messages(roomId: $r, last: $last) { ${HISTORY_PAGE} } }`, { r: lobby, last: 100 });
    expect(history.errors).toBeUndefined();
    expect((await gql(server.url, '{ rooms(first: 100) { edges { cursor node { id title createdAt participantCount } } pageInfo { hasNextPage endCursor } } }')).errors).toBeUndefined();
    const introspection = await gql(server.url, getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data.__schema.queryType.name).toBe('Query');
    // GraphiQL is served.
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Chat API');
  });
});

describe('production: introspection, suggestions and GraphiQL off', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ queryLimits: loadConfig({ NODE_ENV: 'production' }).queryLimits });
  });
  afterAll(() => server?.stop());

  it('is what NODE_ENV=production (npm start) reads, and GRAPHQL_INTROSPECTION decides either way', () => {
    expect(loadConfig({ NODE_ENV: 'production' }).queryLimits).toEqual({ ...DEFAULT_QUERY_LIMITS, introspection: false });
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'on' }).queryLimits.introspection).toBe(true);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'off' }).queryLimits.introspection).toBe(false);
    expect(loadConfig({}).queryLimits).toEqual(DEFAULT_QUERY_LIMITS);
    expect(() => loadConfig({ GRAPHQL_INTROSPECTION: 'maybe', GRAPHQL_MAX_DEPTH: '0', HTTP_MAX_BODY_BYTES: '1e6' })).toThrow(
      /GRAPHQL_INTROSPECTION must be on or off[\s\S]*GRAPHQL_MAX_DEPTH must be an integer[\s\S]*HTTP_MAX_BODY_BYTES must be an integer/,
    );
  });

  for (const transport of TRANSPORTS) {
    it(`refuses introspection and hides "Did you mean" (${transport})`, async () => {
      const user = await issueToken(server.url);
      const schema = await firstResult(transport, server, '{ __schema { types { name } } }', {}, user.token);
      expectRefused(schema, /^GraphQL introspection has been disabled, but the requested query contained the field "__schema"\.$/);
      const typo = await firstResult(transport, server, '{ rooms { edges { node { titel } } } }', {}, user.token);
      expect(typo.errors?.map((e) => e.message)).toEqual(['Cannot query field "titel" on type "Room".']);
      // Variables are coerced at execution: their suggestions are hidden too.
      const variable = await firstResult(transport, server, 'mutation($i: SendMessageInput!) { sendMessage(input: $i) { id } }', { i: { roomId: 'x', bdy: 'hi' } }, user.token);
      expect(variable.errors?.[0]?.message).not.toMatch(/Did you mean/);
      expect(variable.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      // __typename is not introspection.
      expect(await firstResult(transport, server, '{ __typename }', {}, user.token)).toEqual({ data: { __typename: 'Query' } });
    });
  }

  it('serves no GraphiQL', async () => {
    const page = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('Chat API');
  });
});

describe("the product's own documents pass the default limits", () => {
  // Validation only (parse and validate through the real pipeline and its plugins): the operations
  // need users, rooms and operators to run; the suites that run them (sdk, clients, browser) do.
  const validateWith = (limits: QueryLimitsConfig) => {
    const logger = pino({ level: 'silent' });
    const pipeline = createGraphQLPipeline({
      schema: buildSchema(),
      services: {} as never,
      logger,
      allowedOrigins: null,
      errorPolicy: createErrorPolicy(logger),
      trustProxy: 0,
      limits,
      notReadyReason: async () => null,
    });
    return (document: string) => {
      const { parse: parseDocument, validate, schema } = pipeline.getEnveloped({});
      return (validate(schema, parseDocument(document)) as readonly Error[]).map((error) => error.message);
    };
  };

  it('every document of the SDK (sdk/generated, which the web chat uses), the SDK resume point and the README examples', () => {
    const validate = validateWith({ ...DEFAULT_QUERY_LIMITS, introspection: false });
    const sdk = Object.entries(generated)
      .filter(([name]) => name.endsWith('Document') && !name.endsWith('FragmentDoc'))
      .map(([name, document]) => ({ name, document: print(document as DocumentNode) }));
    expect(sdk.length).toBeGreaterThan(20);
    for (const { name, document } of sdk) expect({ name, errors: validate(document) }).toEqual({ name, errors: [] });
    const others = [
      'query SdkResumePoint($roomId: ID!) { messages(roomId: $roomId, last: 1) { edges { node { id seq } } } }',
      '{ rooms(first: 20) { edges { node { id title participantCount } } pageInfo { hasNextPage endCursor } } }',
      '{ messages(roomId: "00000000-0000-7000-8000-000000000001") { edges { node { seq body sender { handle } } } pageInfo { hasPreviousPage startCursor } } }',
      '{ room(id: "x") { participantCount participants(first: 20) { handle } } }',
      '{ directRooms(first: 20) { edges { node { id title members { handle } } } pageInfo { hasNextPage endCursor } } }',
    ];
    for (const document of others) expect(validate(document)).toEqual([]);
  });

  it("GraphiQL's introspection query, when introspection is on", () => {
    const validate = validateWith(DEFAULT_QUERY_LIMITS);
    expect(validate(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true, oneOf: true }))).toEqual([]);
  });
});
