import { execute, parse, type DocumentNode } from 'graphql';
import { stringifyMessage, MessageType } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { userOf, type User } from '../src/identity/user.js';
import { buildSchema } from '../src/schema/index.js';
import { ShapeRegistry } from '../src/transports/fanout/shapes.js';
import { TypingRendering } from '../src/transports/fanout/typing-rendering.js';
import { usersOf } from '../src/typing/typing.js';

/**
 * The typing fast path renders an update once and gives each subscriber the
 * shared bytes without its own entry. These tests hold every view's bytes to
 * what the general path sends for that view alone (graphql-ws's `next` with
 * the execution's result), for the selections clients send.
 */

const schema = buildSchema();
const ROOM = '00000000-0000-7000-8000-000000000001';
const ID = '7';
const PREFIX = `{"id":"${ID}","type":"next","payload":`;

/** Users whose JSON is of different lengths, and not all ASCII: offsets are bytes, not characters. */
const USERS: User[] = [
  userOf('0192f000-0000-7000-8000-000000000001', 'Teemo', '4821'),
  userOf('0192f000-0000-7000-8000-000000000002', 'Zoë', '0007'),
  userOf('0192f000-0000-7000-8000-000000000003', 'Ahri 🦊', '1234'),
  userOf('0192f000-0000-7000-8000-000000000004', 'Jinx', '9999'),
];

const DOCUMENTS: Record<string, DocumentNode> = {
  // The SDK's own operation.
  sdk: parse('subscription Typing($roomId: ID!) { typing(roomId: $roomId) { roomId users { ...ChatUser } } } fragment ChatUser on User { id nickname tag handle }'),
  // Apollo Client adds __typename to every selection set.
  apollo: parse('subscription($r: ID!) { typing(roomId: $r) { roomId users { id handle __typename } __typename } }'),
  // Users listed twice under aliases, and the room id after them.
  aliases: parse('subscription($r: ID!) { t: typing(roomId: $r) { who: users { id } names: users { nickname } roomId } }'),
  usersOnly: parse('subscription($r: ID!) { typing(roomId: $r) { users { id } } }'),
};

const shapeOf = (document: DocumentNode) => new ShapeRegistry((errors) => errors.map((e) => e.toJSON())).acquire('k', { schema, document, variableValues: { r: ROOM, roomId: ROOM } });

/** What graphql-ws sends on the general path for this view: its own execution, serialised. */
function generalPathFrame(document: DocumentNode, users: User[]): string {
  const result = execute({ schema, document, rootValue: { roomId: ROOM, users }, variableValues: { r: ROOM, roomId: ROOM } }) as { data: unknown };
  return stringifyMessage({ id: ID, type: MessageType.Next, payload: { data: result.data } as never });
}

function fastPathFrame(rendering: TypingRendering, selfIndex: number): string {
  const parts = rendering.partsWithout(selfIndex);
  const payload = Buffer.concat(parts);
  expect(payload.length, 'lengthWithout agrees with the chunks').toBe(rendering.lengthWithout(selfIndex));
  return PREFIX + payload.toString('utf8');
}

describe('the typing fast path rendering', () => {
  for (const [name, document] of Object.entries(DOCUMENTS)) {
    it(`gives every view of an update the general path's bytes (${name})`, () => {
      const shape = shapeOf(document);
      for (const count of [0, 1, 2, USERS.length]) {
        const everyone = USERS.slice(0, count);
        const rendering = TypingRendering.of(shape, ROOM, everyone)!;
        expect(rendering, `${count} typists`).not.toBeNull();
        // -1: a subscriber who does not type; 0..count-1: each typist, who is left out of their own view.
        for (let selfIndex = -1; selfIndex < count; selfIndex++) {
          const expected = generalPathFrame(document, usersOf({ everyone, selfIndex }));
          expect(fastPathFrame(rendering, selfIndex), `${count} typists, subscriber at ${selfIndex}`).toBe(expected);
        }
      }
    });
  }

  it('frames everyone’s view once per subscription id, with a header ws would write', () => {
    const rendering = TypingRendering.of(shapeOf(DOCUMENTS.sdk!), ROOM, USERS)!;
    const frame = rendering.wholeFrame(ID, PREFIX, Buffer.byteLength(PREFIX));
    expect(rendering.wholeFrame(ID, PREFIX, Buffer.byteLength(PREFIX))).toBe(frame);
    // Header: a text frame (0x81) of 126 + 16-bit length, then the prefix and the payload.
    expect(frame[0]).toBe(0x81);
    expect(frame.subarray(4).toString('utf8')).toBe(generalPathFrame(DOCUMENTS.sdk!, USERS));
    const other = rendering.wholeFrame('8', '{"id":"8","type":"next","payload":', 34);
    expect(other.subarray(4).toString('utf8')).toBe(generalPathFrame(DOCUMENTS.sdk!, USERS).replace(`"id":"${ID}"`, '"id":"8"'));
  });
});
