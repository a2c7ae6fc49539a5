import { execute, extendSchema, getNamedType, isObjectType, parse, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Message } from '../src/messages/message.js';
import type { Context } from '../src/schema/context.js';
import { buildSchema } from '../src/schema/index.js';
import { planFanout } from '../src/transports/fanout/plan.js';
import { GENERAL_PATH_FIELDS, RENDER_SAFE_FIELDS } from '../src/transports/fanout/render-safe-fields.js';
import { ShapeRegistry } from '../src/transports/fanout/shapes.js';

/**
 * The fan-out fast path renders a message once for every subscriber. That is
 * only right for fields that resolve synchronously from the message and read
 * nothing of the viewer: these tests hold the allow-list to that.
 */

const schema = buildSchema();
const eventTypeOf = (field: string) => getNamedType(schema.getSubscriptionType()!.getFields()[field]!.type) as GraphQLObjectType;
const messageType = eventTypeOf('messageAdded');
/** The subscriptions with a fast path, and the type of their events. */
const FAST_PATH_EVENTS = [messageType, eventTypeOf('typing')];

/** Every object type a messageAdded selection can reach. */
function reachableTypes(from: GraphQLObjectType): GraphQLObjectType[] {
  const seen = new Map<string, GraphQLObjectType>();
  const visit = (type: GraphQLObjectType) => {
    if (seen.has(type.name)) return;
    seen.set(type.name, type);
    for (const field of Object.values(type.getFields())) {
      const named = getNamedType(field.type);
      if (isObjectType(named)) visit(named);
    }
  };
  visit(from);
  return [...seen.values()];
}

/** A selection of every render-safe field, nested. */
function fullSelection(type: GraphQLObjectType): string {
  return (RENDER_SAFE_FIELDS[type.name] ?? [])
    .map((name) => {
      const named = getNamedType(type.getFields()[name]!.type);
      return isObjectType(named) ? `${name} { ${fullSelection(named)} }` : name;
    })
    .join(' ');
}

const message: Message = {
  id: '0192f000-0000-7000-8000-00000000abcd',
  roomId: '00000000-0000-7000-8000-000000000001',
  seq: 42,
  sender: { id: '0192f000-0000-7000-8000-000000000001', nickname: 'Teemo', tag: '4821', handle: 'Teemo#4821' },
  body: 'hello',
  createdAt: '2026-12-01T10:00:00.000Z',
  clientMessageId: 'c-1',
};

const fullDocument = parse(`subscription { messageAdded(roomId: "${message.roomId}") { __typename ${fullSelection(messageType)} } }`);

/** A resolver context for a given viewer, as the general path builds one. */
function contextFor(userId: string | null): Context {
  const user = userId ? { id: userId, nickname: 'Viewer', tag: '0001', handle: 'Viewer#0001' } : null;
  return {
    services: {} as Context['services'],
    viewer: async () => (user ? { user, problem: null, expiresAt: Date.now() + 60_000 } : { user: null, problem: 'missing token' }),
    isOperator: () => false,
    clientIp: '127.0.0.1',
  };
}

describe('the fan-out allow-list', () => {
  it('decides every field a messageAdded or typing selection can reach: render-safe or general path, never both, never neither', () => {
    for (const type of FAST_PATH_EVENTS.flatMap(reachableTypes)) {
      const safe = RENDER_SAFE_FIELDS[type.name];
      const general = GENERAL_PATH_FIELDS[type.name];
      expect(safe, `type ${type.name} is reachable from a fast-path event but not in render-safe-fields.ts`).toBeDefined();
      for (const field of Object.keys(type.getFields())) {
        const decided = [safe?.includes(field), general?.includes(field)].filter(Boolean).length;
        expect(decided, `${type.name}.${field}: add it to RENDER_SAFE_FIELDS (synchronous, the same for every viewer) or GENERAL_PATH_FIELDS`).toBe(1);
      }
      for (const field of [...(safe ?? []), ...(general ?? [])]) {
        expect(type.getFields()[field], `${type.name}.${field} is listed but is not in the schema`).toBeDefined();
      }
    }
  });

  it('renders every render-safe field synchronously without reading the context, as the general path does for any viewer', async () => {
    const shape = new ShapeRegistry((errors) => errors.map((e) => e.toJSON())).acquire('all', { schema, document: fullDocument });
    // Shape.render throws on a promise, and its context throws on any read.
    const rendered = JSON.parse(shape.render(message).toString().slice(0, -1));
    expect(rendered.errors, JSON.stringify(rendered.errors)).toBeUndefined();
    for (const viewer of [null, 'someone-else', message.sender.id]) {
      const general = await execute({ schema, document: fullDocument, rootValue: message, contextValue: contextFor(viewer) });
      expect(rendered, `viewer ${viewer}`).toEqual(JSON.parse(JSON.stringify(general)));
    }
    expect(rendered.data.messageAdded).toMatchObject({ id: message.id, seq: 42, body: 'hello', sender: { handle: 'Teemo#4821' } });
  });

  it('renders every render-safe field of a typing update the same way for every viewer', async () => {
    const typingDocument = parse(`subscription { typing(roomId: "${message.roomId}") { __typename ${fullSelection(eventTypeOf('typing'))} } }`);
    const update = { roomId: message.roomId, users: [message.sender] };
    const rendered = new ShapeRegistry((errors) => errors.map((e) => e.toJSON())).acquire('typing', { schema, document: typingDocument }).payloadOf(update);
    expect(rendered.errors, JSON.stringify(rendered.errors)).toBeUndefined();
    for (const viewer of [null, 'someone-else', message.sender.id]) {
      const general = await execute({ schema, document: typingDocument, rootValue: update, contextValue: contextFor(viewer) });
      expect(rendered, `viewer ${viewer}`).toEqual(JSON.parse(JSON.stringify(general)));
    }
    expect(rendered.data).toMatchObject({ typing: { roomId: message.roomId, users: [{ handle: 'Teemo#4821' }] } });
  });
});

describe('planning the fast path', () => {
  const plan = (query: string, variables: Record<string, unknown> = {}, on: GraphQLSchema = schema) =>
    planFanout({ schema: on, document: parse(query), variableValues: variables });
  const roomId = message.roomId;

  it('takes render-safe selections through aliases, fragments, inline fragments and @include', () => {
    expect(plan(`subscription { messageAdded(roomId: "${roomId}") { id text: body sender { handle } } }`)).toMatchObject({ roomId, after: null });
    expect(
      plan(
        `subscription($r: ID!, $a: ID, $withSender: Boolean!) { messageAdded(roomId: $r, after: $a) { ...M ... on Message { seq } sender @include(if: $withSender) { id } } }
         fragment M on Message { id body }`,
        { r: roomId, a: message.id, withSender: true },
      ),
    ).toMatchObject({ roomId, after: message.id });
  });

  it('gives subscribers who differ only in where they resume the same rendering', () => {
    const query = 'subscription($r: ID!, $a: ID) { messageAdded(roomId: $r, after: $a) { id body } }';
    expect(plan(query, { r: roomId, a: message.id })!.shapeKey).toBe(plan(query, { r: roomId })!.shapeKey);
    const withVariable = 'subscription($r: ID!, $s: Boolean!) { messageAdded(roomId: $r) { id sender @include(if: $s) { id } } }';
    expect(plan(withVariable, { r: roomId, s: true })!.shapeKey).not.toBe(plan(withVariable, { r: roomId, s: false })!.shapeKey);
  });

  it('sends anything it cannot prove render-safe down the general path', () => {
    // A viewer-dependent field, added without a decision.
    const extended = extendSchema(schema, parse('extend type Message { isMine: Boolean! }'));
    expect(plan(`subscription { messageAdded(roomId: "${roomId}") { id isMine } }`, {}, extended)).toBeNull();
    // More than the one root field, an unknown directive, a query.
    expect(plan(`subscription { __typename messageAdded(roomId: "${roomId}") { id } }`)).toBeNull();
    expect(plan(`subscription { messageAdded(roomId: "${roomId}") { id @deprecated } }`)).toBeNull();
    expect(plan('query { me { id } }')).toBeNull();
    // Variables that do not coerce: the general path reports them.
    expect(plan('subscription($r: ID!) { messageAdded(roomId: $r) { id } }', {})).toBeNull();
  });
});
