import type { AddressInfo } from 'node:net';
import { execute, parse } from 'graphql';
import { stringifyMessage, MessageType } from 'graphql-ws';
import { afterEach, describe, expect, it } from 'vitest';
import * as wsModule from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Message } from '../src/messages/message.js';
import { buildSchema } from '../src/schema/index.js';
import { ShapeRegistry } from '../src/transports/fanout/shapes.js';
import { SocketMember } from '../src/transports/fanout/socket-member.js';
import { canWriteFrames, frameHead, textFrame } from '../src/transports/websocket/raw-frames.js';
import { deferred, within } from './helpers/wait.js';

/**
 * The fast path writes WebSocket frames itself: a head (header and the
 * subscriber's `{"id":…,"type":"next","payload":` prefix) and the bytes every
 * subscriber shares, held until the end of the turn. These tests hold it to
 * what `ws` and graphql-ws would have sent, frame by frame, on real sockets.
 */

const schema = buildSchema();
const DOCUMENT = parse('subscription($r: ID!) { messageAdded(roomId: $r) { id seq body createdAt sender { handle } } }');
const ROOM = '00000000-0000-7000-8000-000000000001';

function messageWith(seq: number, body: string): Message {
  return {
    id: `0192f000-0000-7000-8000-${String(seq).padStart(12, '0')}`,
    roomId: ROOM,
    seq,
    sender: { id: '0192f000-0000-7000-8000-000000000001', nickname: 'Teemo', tag: '4821', handle: 'Teemo#4821' },
    body,
    createdAt: '2026-12-01T10:00:00.000Z',
    clientMessageId: null,
  };
}

/** Only the body: a next message from ~70 bytes up, so every length boundary can be hit exactly. */
const BODY_ONLY = parse('subscription($r: ID!) { messageAdded(roomId: $r) { body } }');

/** What graphql-ws itself sends for this message to subscription `id` (its emit.next with the general path's result). */
function graphqlWsNext(id: string, message: Message, document = DOCUMENT): string {
  const result = execute({ schema, document, rootValue: message, variableValues: { r: ROOM } }) as { data: unknown };
  return stringifyMessage({ id, type: MessageType.Next, payload: { data: result.data } as never });
}

const newShape = (document = DOCUMENT) => new ShapeRegistry((errors) => errors.map((e) => e.toJSON())).acquire('k', { schema, document, variableValues: { r: ROOM } });

/** ws's own framing of a text message, as `socket.send(text)` writes it. */
/** ws's Sender (exported by ws, not declared by @types/ws). */
const Sender = (wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } }).Sender;

function wsFrame(text: string): Buffer {
  const data = Buffer.from(text);
  return Buffer.concat(Sender.frame(data, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }));
}

interface Received {
  kind: 'message' | 'ping' | 'close';
  text: string;
}

/** A real ws server and client on a free port; the client records what arrives, in order. */
async function connectedPair(serverOptions: { perMessageDeflate?: boolean } = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...serverOptions });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const serverSide = deferred<WebSocket>();
  wss.once('connection', (socket) => serverSide.resolve(socket));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: serverOptions.perMessageDeflate ?? false });
  const received: Received[] = [];
  const waiters: { count: number; done: () => void }[] = [];
  const record = (entry: Received) => {
    received.push(entry);
    for (const waiter of waiters) if (received.length >= waiter.count) waiter.done();
  };
  client.on('message', (data) => record({ kind: 'message', text: String(data) }));
  client.on('ping', () => record({ kind: 'ping', text: '' }));
  client.on('close', (code, reason) => record({ kind: 'close', text: `${code} ${String(reason)}` }));
  await new Promise<void>((resolve, reject) => client.once('open', () => resolve()).once('error', reject));
  const socket = await within(serverSide.promise, 2_000, 'the server side of the socket');
  return {
    wss,
    socket,
    client,
    received,
    /** Resolves once `count` events have arrived. */
    async receive(count: number): Promise<Received[]> {
      if (received.length < count) {
        const arrived = deferred();
        waiters.push({ count, done: () => arrived.resolve() });
        await within(arrived.promise, 5_000, `${count} events at the client (got ${received.length})`);
      }
      return received.slice(0, count);
    },
    async close() {
      client.terminate();
      for (const s of wss.clients) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const pairs: { close: () => Promise<void> }[] = [];
async function pair(options?: { perMessageDeflate?: boolean }) {
  const p = await connectedPair(options);
  pairs.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pairs.splice(0).map((p) => p.close()));
});

describe('fan-out frames written from shared bytes', () => {
  // Payload lengths at every boundary of the length encoding: 7 bits, 16 bits, 64 bits.
  const LENGTHS = [1, 125, 126, 127, 65_535, 65_536, 70_000];

  it('frames a head and a shared tail byte for byte as ws frames the whole text, at every length boundary', () => {
    const prefix = '{"id":"1","type":"next","payload":';
    for (const length of [...LENGTHS, prefix.length]) {
      const tail = Buffer.alloc(Math.max(0, length - prefix.length), 'x');
      const text = prefix + tail.toString();
      const expected = wsFrame(text);
      // Buffer.equals, not toEqual: a readable diff of 70,000 bytes would take seconds.
      expect(Buffer.concat([frameHead(prefix, prefix.length, tail.length), tail]).equals(expected), `head + tail, payload of ${text.length} bytes`).toBe(true);
      expect(textFrame(Buffer.from(text)).equals(expected), `whole frame, payload of ${text.length} bytes`).toBe(true);
      expect(expected.subarray(0, 2)).toEqual(Buffer.from([0x81, text.length < 126 ? text.length : text.length < 65_536 ? 126 : 127]));
    }
  });

  it('delivers exactly what graphql-ws would send, around every length boundary, ids alike and not', async () => {
    const { socket, receive } = await pair();
    expect(canWriteFrames(socket), 'the direct path applies to a socket without extensions').toBe(true);
    const shape = newShape(BODY_ONLY);
    const fixed = graphqlWsNext('1', messageWith(1, ''), BODY_ONLY).length;
    // Bodies sized so that subscription "1"'s whole next message is exactly each boundary length.
    const sizes = [fixed, 125, 126, 127, 65_535, 65_536, 70_000];
    const messages = sizes.map((length, index) => messageWith(index + 1, 'b'.repeat(length - fixed)));
    const ids = ['1', '1', 'a-uuid-like-id-0192f000', '1', 'ünïcödé "quoted"'];
    const members = ids.map((id) => new SocketMember(socket, id, shape, 1 << 30));
    const expected: string[] = [];
    for (const message of messages) {
      // One dispatch: a shared map per message, as RoomFeed.dispatch does.
      const shared = new Map<unknown, unknown>();
      for (const [index, member] of members.entries()) {
        member.deliver(message, shared);
        expected.push(graphqlWsNext(ids[index]!, message, BODY_ONLY));
      }
    }
    expect(messages.map((m) => Buffer.byteLength(graphqlWsNext('1', m, BODY_ONLY)))).toEqual(sizes);
    const got = await receive(expected.length);
    expect(got.map((r) => r.kind).every((k) => k === 'message')).toBe(true);
    expect(got.map((r) => r.text)).toEqual(expected);
  });

  it('holds what one socket gets in one turn and writes it at the end of the turn, in order', async () => {
    const { socket, receive } = await pair();
    const raw = (socket as unknown as { _socket: import('node:net').Socket })._socket;
    const member = new SocketMember(socket, '1', newShape(), 1 << 30);
    const messages = [1, 2, 3, 4, 5].map((seq) => messageWith(seq, `m${seq}`));
    for (const message of messages) member.deliver(message, new Map());
    // Still this turn: everything is held in the socket's buffer (bufferedAmount counts it), nothing written.
    expect(raw.writableCorked).toBe(1);
    expect(socket.bufferedAmount).toBeGreaterThan(0);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(raw.writableCorked).toBe(0);
    const got = await receive(messages.length);
    expect(got.map((r) => r.text)).toEqual(messages.map((m) => graphqlWsNext('1', m)));
  });

  it('keeps ws’s own frames in their place: a ping and a graphql-ws frame sent mid-batch arrive between the messages', async () => {
    const { socket, receive } = await pair();
    const member = new SocketMember(socket, '1', newShape(), 1 << 30);
    member.deliver(messageWith(1, 'before'), new Map());
    socket.ping();
    socket.send(stringifyMessage({ id: '2', type: MessageType.Complete }));
    member.deliver(messageWith(2, 'after'), new Map());
    const got = await receive(4);
    expect(got).toEqual([
      { kind: 'message', text: graphqlWsNext('1', messageWith(1, 'before')) },
      { kind: 'ping', text: '' },
      { kind: 'message', text: '{"id":"2","type":"complete"}' },
      { kind: 'message', text: graphqlWsNext('1', messageWith(2, 'after')) },
    ]);
  });

  it('sends nothing after a close started mid-batch, and the close arrives after what came before it', async () => {
    const { socket, receive, received } = await pair();
    const member = new SocketMember(socket, '1', newShape(), 1 << 30);
    member.deliver(messageWith(1, 'one'), new Map());
    member.deliver(messageWith(2, 'two'), new Map());
    socket.close(4400, 'bye');
    member.deliver(messageWith(3, 'three'), new Map());
    const got = await receive(3);
    expect(got).toEqual([
      { kind: 'message', text: graphqlWsNext('1', messageWith(1, 'one')) },
      { kind: 'message', text: graphqlWsNext('1', messageWith(2, 'two')) },
      { kind: 'close', text: '4400 bye' },
    ]);
    expect(received).toHaveLength(3);
  });

  it('closes a socket 4008 when its unsent bytes, held ones included, pass the limit', async () => {
    const { socket, receive } = await pair();
    const member = new SocketMember(socket, '1', newShape(), 10_000);
    // Each about 3 KB; held in this turn, so the fifth finds more than 10,000 bytes unsent.
    for (let seq = 1; seq <= 6; seq++) member.deliver(messageWith(seq, 'x'.repeat(3_000)), new Map());
    const got = await receive(5);
    expect(got.slice(0, 4).map((r) => r.kind)).toEqual(['message', 'message', 'message', 'message']);
    expect(got[4]).toEqual({ kind: 'close', text: '4008 slow consumer' });
  });

  it('falls back to ws.send on a socket that negotiated permessage-deflate, with the same text', async () => {
    const { socket, receive } = await pair({ perMessageDeflate: true });
    expect(socket.extensions).toContain('permessage-deflate');
    expect(canWriteFrames(socket)).toBe(false);
    const member = new SocketMember(socket, '7', newShape(), 1 << 30);
    const messages = [messageWith(1, 'squeeze me '.repeat(200)), messageWith(2, 'small')];
    for (const message of messages) member.deliver(message, new Map());
    const got = await receive(2);
    expect(got.map((r) => r.text)).toEqual(messages.map((m) => graphqlWsNext('7', m)));
  });
});
